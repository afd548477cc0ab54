"""Slide encoders: one vector per slide from its tile features and coordinates.

* :mod:`.gigapath_slide` -- :class:`GigaPathSlideEncoder`, Prov-GigaPath's LongNet slide
  encoder in plain PyTorch (CPU or any CUDA GPU, no flash-attn);
* :mod:`.longnet` -- its modules, with the official parameter names;
* :mod:`.dilated_attention` -- dilated attention with a chunked log-sum-exp;
* :mod:`.positions` -- coordinates to position-table rows, checked;
* :mod:`.checkpoint` -- the official ``slide_encoder.pth`` layout, read and written;
* :mod:`.occlusion` -- approximate tile attribution by occluding spatial blocks.

Nothing here is imported by the package itself: torch loads only when an encoder is used.
"""
