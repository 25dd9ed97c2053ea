#!/usr/bin/env bash
# Installs what tabler1 needs beyond Go: a Python 3 with pandas and numpy for
# the sandbox. The interpreter is TABLER1_PYTHON (default /usr/bin/python3,
# Debian's, since the python3 first on PATH may lack pandas). Where it cannot
# import pandas, Debian's python3-pandas is installed with apt-get.
set -euo pipefail
py="${TABLER1_PYTHON:-/usr/bin/python3}"

have_pandas() { [ -x "$py" ] && "$py" -c 'import pandas, numpy' >/dev/null 2>&1; }

if have_pandas; then
  exit 0
fi
echo "setup: $py cannot import pandas; installing Debian's python3-pandas" >&2
sudo=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi
fi
if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || [ -n "$sudo" ]; }; then
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >/dev/null
  $sudo apt-get install -y -qq python3 python3-pandas python3-numpy >/dev/null
fi
if ! have_pandas; then
  cat >&2 <<MSG
setup: $py still cannot import pandas and numpy, and apt-get is unavailable here (or we are not root).
  Either install them for that interpreter (Debian/Ubuntu: apt-get install python3-pandas;
  elsewhere: a virtualenv with 'pip install pandas numpy'), or point tabler1 at an interpreter
  that has them:  export TABLER1_PYTHON=/path/to/python3  (the sandbox's 'python' setting too).
MSG
  exit 1
fi
