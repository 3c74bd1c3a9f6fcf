#!/usr/bin/env bash
# Makes benchmarks/.peers/brian2, a venv with Brian2 for the peer process of bench_cuba.py.
# Why a second interpreter: Brian2 releases that import with numpy >= 2.4 (2.10, 2.11) need
# Python >= 3.12 / 3.13, and einet runs on 3.11, where only brian2 2.9.0 exists.
# Uses the first of python3.13 / python3.12 that runs (a pyenv shim that is on PATH but not
# selected does not run; then the pyenv installation of that version is used). Pass an
# interpreter as $1 to choose one yourself. Running it again reuses the venv.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$(dirname "$here")/.peers/brian2"

runs() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; }

python=""
if [ $# -ge 1 ]; then
    runs "$1" || { echo "setup_brian2.sh: $1 does not run as Python >= 3.12" >&2; exit 1; }
    python="$1"
else
    for version in 3.13 3.12; do
        if command -v "python$version" >/dev/null 2>&1 && runs "python$version"; then
            python="$(command -v "python$version")"
        elif command -v pyenv >/dev/null 2>&1; then
            for candidate in "$(pyenv root)"/versions/"$version".*/bin/"python$version"; do
                if [ -x "$candidate" ] && runs "$candidate"; then python="$candidate"; fi
            done
        fi
        [ -n "$python" ] && break
    done
fi
if [ -z "$python" ]; then
    echo "setup_brian2.sh: found neither python3.13 nor python3.12 (Brian2 >= 2.10 needs Python >= 3.12)." >&2
    echo "Install one (e.g. pyenv install 3.13) or pass an interpreter: bash $0 /path/to/python3.13" >&2
    exit 1
fi
minor="$("$python" -c 'import sys; print(sys.version_info[1])')"
# brian2 2.11 needs Python >= 3.13; on 3.12 the newest is 2.10
if [ "$minor" -ge 13 ]; then requirement="brian2>=2.11"; else requirement="brian2>=2.10"; fi

echo "setup_brian2.sh: $python ($("$python" --version 2>&1)) -> $venv, $requirement"
if [ ! -x "$venv/bin/python" ]; then
    mkdir -p "$(dirname "$venv")"
    "$python" -m venv "$venv" || {
        echo "setup_brian2.sh: '$python -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)" >&2
        rm -rf "$venv"; exit 1; }
fi
"$venv/bin/python" -m pip install --upgrade "$requirement" || {
    echo "setup_brian2.sh: pip could not install $requirement into $venv (is the package index reachable?)" >&2
    exit 1; }
"$venv/bin/python" -c 'import brian2, numpy; print(f"setup_brian2.sh: brian2 {brian2.__version__}, numpy {numpy.__version__}")' || {
    echo "setup_brian2.sh: brian2 was installed but does not import under $venv/bin/python" >&2; exit 1; }
command -v g++ >/dev/null 2>&1 && command -v make >/dev/null 2>&1 ||
    echo "setup_brian2.sh: warning: Brian2's C++ standalone mode needs g++ and make, not both on PATH" >&2
echo "setup_brian2.sh: done; bench_cuba.py uses $venv/bin/python when this interpreter has no Brian2"
