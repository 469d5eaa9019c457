"""Exercise checks: ``mmcourse.check("metrics.accuracy", accuracy)``.

A check calls the learner's function on random inputs and compares it with the
package's reference implementation (shapes, invariants, tolerances). It prints one
clear line -- pass, or fail with a hint -- records the result, and on failure raises
:class:`CheckFailed`, which Jupyter shows as that one line instead of a traceback.

When ``$MMCOURSE_GRADE_LOG`` names a file, each result is appended to it as a JSON
line; ``python -m mmcourse grade`` reads it to build the score table.
"""

from . import (  # noqa: F401  (each registers its checks)
           contrastive,
           diffusion,
           evaluation,
           metrics,
           modalities,
           train,
           unified,
           video_audio,
           vlm,
)
from .registry import (
           GRADE_LOG_ENV,
           REGISTRY,
           RESULTS,
           CheckFailed,
           CheckResult,
           available,
           check,
           register,
           run,
)

__all__ = ["GRADE_LOG_ENV", "REGISTRY", "RESULTS", "CheckFailed", "CheckResult", "available", "check", "register",
           "run"]
