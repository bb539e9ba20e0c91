"""Where the independent peers' files are: ``../shared/interop`` beside the repository."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INTEROP = Path(os.environ.get("JCLI_INTEROP_DIR", ROOT.parent / "shared" / "interop"))
VALIDATE_PCAP = INTEROP / "validate_pcap.sh"
