"""Embedding profiles recorded in a cohort's cache (``<cache>/profiles/<name>.json``).

Several profiles sit side by side; a different profile under a name already used is an
error that names both (:class:`~corebt_viewer.embed.profile.ProfileMismatch`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from corebt_viewer.core.errors import InputError
from corebt_viewer.embed.cache import safe_name
from corebt_viewer.embed.profile import EmbeddingProfile, ProfileMismatch
from corebt_viewer.io.atomic_files import atomic_path


def profiles_dir(cache_root: str | Path) -> Path:
    return Path(cache_root) / "profiles"


def list_profiles(cache_root: str | Path) -> list[EmbeddingProfile]:
    """The profiles recorded in a cache, by name."""
    out = []
    for path in sorted(profiles_dir(cache_root).glob("*.json")):
        out.append(read_profile(path))
    return out


def read_profile(path: str | Path) -> EmbeddingProfile:
    path = Path(path)
    try:
        return EmbeddingProfile.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        raise InputError(path, f"unreadable embedding profile: {exc}") from None


def load_profile(cache_root: str | Path, name: str) -> EmbeddingProfile:
    """The profile called `name` in the cache (an error lists the ones there)."""
    path = profiles_dir(cache_root) / f"{safe_name(name)}.json"
    if not path.is_file():
        known = ", ".join(p.name for p in list_profiles(cache_root)) or "none"
        raise InputError(
            path, f"no embedding profile {name!r} in this cohort's cache (profiles: {known})"
        )
    return read_profile(path)


def save_profile(cache_root: str | Path, profile: EmbeddingProfile) -> Path:
    """Record `profile` in the cache; a different profile of the same name is an error."""
    path = profiles_dir(cache_root) / f"{profile.name}.json"
    if path.is_file():
        existing = read_profile(path)
        check_same(existing, profile, what=f"the cache already holds a profile {profile.name!r}")
        if existing.to_json() == profile.to_json():
            return path
    data = profile.to_json()
    data["created"] = time.strftime("%Y-%m-%d %H:%M:%S")
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return path


def check_same(expected: EmbeddingProfile, given: EmbeddingProfile, *, what: str) -> None:
    """Raise :class:`ProfileMismatch` naming both profiles when their embeddings differ."""
    if expected.same_embeddings(given):
        return
    ours = dict(zip(("fp", *range(5)), expected.describe(), strict=False))
    theirs = dict(zip(("fp", *range(5)), given.describe(), strict=False))
    differs = [
        f"    {ours[k].strip()}  <->  {theirs[k].strip()}" for k in ours if ours[k] != theirs.get(k)
    ]
    raise ProfileMismatch(
        None,
        f"{what}: profile {expected.name!r} ({expected.fingerprint()}) and profile "
        f"{given.name!r} ({given.fingerprint()}) make different embeddings:\n" + "\n".join(differs),
    )
