# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The run's artifacts on the control node (cluster yaml audit copies, the summary): text files
written atomically and only when their content changes, so a no-op run changes nothing."""

from __future__ import annotations

import os
import tempfile


def read_text(path: str) -> str | None:
    """The file's text, None when it cannot be read."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return None


def write_text(path: str, text: str, check_mode: bool = False) -> bool:
    """Write ``text`` (mode 0644, parents 0755) through a temp file and a rename when the file
    differs; whether it did (in check mode: whether it would)."""
    if read_text(path) == text:
        return False
    if check_mode:
        return True
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o755, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return True
