"""Zoo entries, one module per chapter; importing this package registers them all."""

from . import (  # noqa: F401
    ch00,
    ch02,
    ch03,
    ch04_audio_text,
    ch04_speech,
    ch04_video,
    ch05_ldm,
    ch05_pixel_latent,
    ch05_unclip,
    ch05_vae,
    ch06_unified,
    ch06_vq,
)
