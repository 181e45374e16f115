"""The daily digest: what it says (:mod:`.builder`), how it looks (:mod:`.render`,
:mod:`.chart`, ``templates/``) and how it is delivered exactly once (:mod:`.send`).

The daemon calls :func:`run_due` after polling; the CLI calls :func:`send`
and the render functions.
"""

from monitor.digest.builder import Digest, brand_set_key, build
from monitor.digest.send import DigestResult, run_due, send

__all__ = ["Digest", "DigestResult", "brand_set_key", "build", "run_due", "send"]
