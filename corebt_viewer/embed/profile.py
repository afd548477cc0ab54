"""The embedding profile: one frozen record of every choice that changes an embedding.

A profile names, per modality, the encoder and the identity of its weights (a fingerprint,
so a model trained on one set of weights never reads embeddings of another), the tiling
settings and the slide aggregator. ``corebt embed`` writes it into the cohort's cache
(``<cache>/profiles/<name>.json``); a trained model records it; ``train``, ``evaluate``,
``predict``, the viewer and the plugin take it from the model and never assume the built-in
default. Cache keys are computed from the profile alone: reading cached embeddings does not
need the weights to be present, and the weights, when needed, are checked against it.

Slide aggregators (``aggregator``):

``mean``
    The slide vector is the mean of its tile vectors (the pathology term decomposes exactly
    over tiles).
``gigapath-slide``
    Prov-GigaPath's LongNet slide encoder on the tile embeddings (the paper, section 5.2);
    768-d. Tile heat maps are approximate (occlusion by blocks of tiles).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from corebt_viewer.core.errors import InputError
from corebt_viewer.core.modalities import Modality
from corebt_viewer.embed.cache import atomic_path, file_fingerprint, safe_name, stable_hash
from corebt_viewer.embed.tiling import DEFAULT_MIN_TISSUE, DEFAULT_TARGET_MPP, DEFAULT_TILE_SIZE

PROFILE_FORMAT = 1
AGGREGATORS = ("mean", "gigapath-slide")
SLIDE_LAYERS = ("last_layer_embed", "encoder_out")
DEFAULT_OCCLUSION_BLOCKS = 16


class ProfileMismatch(InputError):
    """Two profiles that should be the same differ (the message names both)."""


@dataclass(frozen=True)
class TilingSettings:
    """Tile grid settings (part of every slide's cache key)."""

    target_mpp: float = DEFAULT_TARGET_MPP
    tile_size: int = DEFAULT_TILE_SIZE
    min_tissue: float = DEFAULT_MIN_TISSUE
    mpp_override: float | None = None

    def as_dict(self) -> dict:
        from corebt_viewer.embed.tissue import tissue_method

        return {
            "target_mpp": self.target_mpp,
            "tile_size": self.tile_size,
            "min_tissue": self.min_tissue,
            "mpp_override": self.mpp_override,
            "tissue": tissue_method(),  # marker ink and dark debris removed
        }


@dataclass(frozen=True)
class EmbeddingProfile:
    """Every choice that changes an embedding (build with :func:`make_profile`).

    Attributes
    ----------
    name : str
        Folder-safe name (``builtin``, ``gigapath-longnet``...).
    wsi, mri, report : str
        Encoder names (see :func:`corebt_viewer.embed.encoders.list_encoders`).
    wsi_weights, mri_weights, mri_config, slide_weights : str or None
        Paths as the user gave them (needed only to compute new embeddings).
    tiling : TilingSettings
    aggregator : str
        ``mean`` or ``gigapath-slide`` (see the module docstring).
    slide_layer : str
        Which hidden state the slide encoder returns (``last_layer_embed``,
        ``encoder_out`` or ``layer_<i>``).
    occlusion_blocks : int
        Tile blocks occluded for the approximate heat map of a non-linear aggregator.
    identity : dict of str -> str
        Fingerprints of the weights and configs (``wsi_weights``, ``slide_weights``...).
    source : str
        ``embedded`` (computed here) or ``imported:<tool>`` (feature files brought in).
    """

    name: str = "builtin"
    wsi: str = "builtin"
    wsi_weights: str | None = None
    mri: str = "mri-builtin"
    mri_weights: str | None = None
    mri_config: str | None = None
    report: str = "minilm"
    tiling: TilingSettings = field(default_factory=TilingSettings)
    aggregator: str = "mean"
    slide_weights: str | None = None
    slide_layer: str = "last_layer_embed"
    occlusion_blocks: int = DEFAULT_OCCLUSION_BLOCKS
    identity: dict = field(default_factory=dict)
    source: str = "embedded"

    # -- identity ------------------------------------------------------------------------

    def key_settings(self, modality: Modality) -> dict:
        """What identifies a modality's (tile-level) encoder output."""
        from corebt_viewer.embed.encoders import encoder_info

        if modality is Modality.WSI:
            settings: dict = {"name": self.wsi, "dim": encoder_info(self.wsi).dim}
            if self.wsi == "builtin":
                from corebt_viewer.embed.encoders.wsi_builtin import BuiltinTileEncoder

                settings.update(version=BuiltinTileEncoder.version, mpp=self.tiling.target_mpp)
            elif "wsi_weights" in self.identity:
                settings["weights"] = self.identity["wsi_weights"]
            if self.source != "embedded":
                settings["source"] = self.source
            return settings
        if modality is Modality.MRI:
            settings = {"name": self.mri}
            if self.mri == "mri-builtin":
                from corebt_viewer.embed.encoders.mri_builtin import BuiltinMRIEncoder

                settings.update(BuiltinMRIEncoder().settings())
            else:
                settings["model"] = self.identity.get("mri_weights", "")
                if self.identity.get("mri_config"):
                    settings["config"] = self.identity["mri_config"]
            return settings
        settings = {"name": self.report, "dim": encoder_info(self.report).dim}
        if self.report == "minilm":
            settings["max_tokens"] = 200
        return settings

    def aggregator_settings(self) -> dict:
        """What identifies the slide aggregator's output."""
        if self.aggregator == "mean":
            return {"name": "mean"}
        return {
            "name": self.aggregator,
            "weights": self.identity.get("slide_weights", ""),
            "layer": self.slide_layer,
            "occlusion_blocks": self.occlusion_blocks,
        }

    def tag(self, modality: Modality) -> str:
        """Folder-safe name of a modality's encoder and settings, e.g. ``builtin-1a2b3c4d``."""
        settings = self.key_settings(modality)
        return f"{settings['name']}-{stable_hash(settings, 8)}"

    def aggregator_tag(self) -> str:
        settings = self.aggregator_settings()
        return f"{settings['name']}-{stable_hash([settings, self.key_settings(Modality.WSI)], 8)}"

    def fingerprint(self) -> str:
        """Hash of everything that changes an embedding (names and paths excluded)."""
        return stable_hash(
            {
                "wsi": self.key_settings(Modality.WSI),
                "mri": self.key_settings(Modality.MRI),
                "report": self.key_settings(Modality.REPORT),
                "tiling": self.tiling.as_dict(),
                "aggregator": self.aggregator_settings(),
            },
            16,
        )

    def same_embeddings(self, other: EmbeddingProfile) -> bool:
        return self.fingerprint() == other.fingerprint()

    # -- text and JSON -------------------------------------------------------------------

    def describe(self) -> list[str]:
        """The profile in plain words, a line per choice."""
        weights = self.identity
        wsi = self.wsi + (
            f" (weights {weights['wsi_weights']})" if "wsi_weights" in weights else ""
        )
        mri = self.mri + (f" (model {weights['mri_weights']})" if "mri_weights" in weights else "")
        if self.mri != "mri-builtin":
            mri += f", config {weights.get('mri_config') or 'built-in defaults'}"
        if self.aggregator == "mean":
            slide = "mean of tile vectors (exact tile heat maps)"
        else:
            slide = (
                f"Prov-GigaPath slide encoder (weights {weights.get('slide_weights', '?')}, "
                f"{self.slide_layer}; approximate tile heat maps, {self.occlusion_blocks} "
                "occlusion blocks)"
            )
        t = self.tiling
        return [
            f"profile {self.name} ({self.source}, fingerprint {self.fingerprint()})",
            f"  pathology tiles: {wsi}",
            f"  slide aggregator: {slide}",
            f"  tiling: {t.tile_size} px at {t.target_mpp} um/px, min tissue {t.min_tissue}"
            + (f", level-0 mpp forced to {t.mpp_override}" if t.mpp_override else ""),
            f"  MRI: {mri}",
            f"  report: {self.report}",
        ]

    def to_json(self) -> dict:
        data = asdict(self)
        data["format"] = PROFILE_FORMAT
        data["fingerprint"] = self.fingerprint()
        return data

    @classmethod
    def from_json(cls, data: dict) -> EmbeddingProfile:
        data = dict(data)
        data.pop("format", None)
        data.pop("fingerprint", None)
        data.pop("created", None)
        tiling = TilingSettings(**data.pop("tiling", {}))
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown profile fields {unknown}")
        return cls(tiling=tiling, **data)

    def renamed(self, name: str) -> EmbeddingProfile:
        return replace(self, name=check_profile_name(name))


def check_profile_name(name: str) -> str:
    if not name or safe_name(name) != name:
        raise InputError(None, f"profile name {name!r}: use letters, digits, '.', '_' and '-'")
    return name


def default_profile_name(profile: EmbeddingProfile) -> str:
    """``builtin`` for the built-in encoders, else e.g. ``gigapath-longnet``."""
    parts = [profile.wsi]
    if profile.aggregator == "gigapath-slide":
        parts.append("longnet")
    if profile.mri != "mri-builtin":
        parts.append(profile.mri)
    return "-".join(parts)


def _weights_identity(encoder: str, weights: str | Path) -> str:
    path = Path(weights).expanduser()
    if encoder == "gigapath":
        from corebt_viewer.embed.encoders.gigapath import find_weights

        weights_file, model_args = find_weights(path)
        return stable_hash({"file": file_fingerprint(weights_file), "args": model_args})
    if not path.is_file():
        raise InputError(path, "weights file not found")
    return file_fingerprint(path)


def make_profile(
    *,
    name: str | None = None,
    wsi: str = "builtin",
    wsi_weights: str | Path | None = None,
    mri: str = "mri-builtin",
    mri_weights: str | Path | None = None,
    mri_config: str | Path | None = None,
    report: str | None = None,
    tiling: TilingSettings | None = None,
    aggregator: str = "mean",
    slide_weights: str | Path | None = None,
    slide_layer: str = "last_layer_embed",
    occlusion_blocks: int = DEFAULT_OCCLUSION_BLOCKS,
) -> EmbeddingProfile:
    """Check the choices, fingerprint the weights and return the profile.

    Raises
    ------
    InputError
        Unknown encoder or aggregator, an encoder of the wrong modality, weights or a config
        that do not exist, weights given to an encoder that takes none.
    """
    from corebt_viewer.embed.encoders import encoder_info

    def check(encoder: str, modality: Modality, weights, option: str) -> None:
        try:
            info = encoder_info(encoder)
        except ValueError as exc:
            raise InputError(None, str(exc)) from None
        if info.modality is not modality:
            raise InputError(None, f"encoder {encoder!r} is not a {modality.title} encoder")
        if info.needs_weights and weights is None:
            raise InputError(None, f"encoder {encoder!r} needs {option} (never downloaded)")
        if not info.needs_weights and weights is not None:
            raise InputError(Path(weights), f"encoder {encoder!r} takes no weights ({option})")

    identity: dict[str, str] = {}
    check(wsi, Modality.WSI, wsi_weights, "--weights")
    if wsi_weights is not None:
        identity["wsi_weights"] = _weights_identity(wsi, wsi_weights)
    check(mri, Modality.MRI, mri_weights, "--mri-weights")
    if mri_weights is not None:
        identity["mri_weights"] = _weights_identity(mri, mri_weights)
        config = Path(mri_config) if mri_config else Path(mri_weights).with_suffix(".json")
        if mri_config is not None and not config.is_file():
            raise InputError(config, "MRI encoder config (--mri-config) not found")
        if config.is_file():
            identity["mri_config"] = file_fingerprint(config)
            mri_config = config
    elif mri_config is not None:
        raise InputError(Path(mri_config), "--mri-config given without --mri-weights")
    if report is None:
        from corebt_viewer.embed.encoders.report import minilm_available

        report = "minilm" if minilm_available() else "hashing-tfidf"
    check(report, Modality.REPORT, None, "")
    if aggregator not in AGGREGATORS:
        raise InputError(None, f"unknown slide aggregator {aggregator!r}; known: {AGGREGATORS}")
    if aggregator == "gigapath-slide":
        if slide_weights is None:
            raise InputError(
                None, "--slide-encoder gigapath needs --slide-weights (never downloaded)"
            )
        if wsi != "gigapath" and not wsi.startswith("imported"):
            raise InputError(None, "the gigapath slide encoder reads Prov-GigaPath tile features")
        if slide_layer not in SLIDE_LAYERS and not slide_layer.startswith("layer_"):
            raise InputError(None, f"unknown slide layer {slide_layer!r}")
        grid = tiling or TilingSettings()
        if grid.tile_size != 256 or grid.target_mpp != 0.5:
            raise InputError(
                None,
                "Prov-GigaPath's slide encoder places 256-px tiles at 0.5 um/px: use "
                f"--tile-size 256 --target-mpp 0.5 (given {grid.tile_size} px at "
                f"{grid.target_mpp} um/px)",
            )
        identity["slide_weights"] = _weights_identity("gigapath-slide", slide_weights)
    elif slide_weights is not None:
        raise InputError(Path(slide_weights), "--slide-weights given without --slide-encoder")
    profile = EmbeddingProfile(
        name="pending",
        wsi=wsi,
        wsi_weights=None if wsi_weights is None else str(wsi_weights),
        mri=mri,
        mri_weights=None if mri_weights is None else str(mri_weights),
        mri_config=None if mri_config is None else str(mri_config),
        report=report,
        tiling=tiling or TilingSettings(),
        aggregator=aggregator,
        slide_weights=None if slide_weights is None else str(slide_weights),
        slide_layer=slide_layer,
        occlusion_blocks=int(occlusion_blocks),
        identity=identity,
    )
    return profile.renamed(name or default_profile_name(profile))


# -- profiles in a cohort's cache -----------------------------------------------------------


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
