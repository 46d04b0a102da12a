#!/bin/sh
# Set up netcore studio from this checkout, with no change to the system's Python:
#   1. the system libraries Qt needs (scripts/apt-packages.txt), on Debian/Ubuntu, when
#      missing: directly as root, else through sudo (it asks for your password);
#   2. a virtual environment in .venv (PEP 668: Debian's and Ubuntu's python3 refuse pip
#      outside one) with netcore studio installed into it, editable;
#   3. on Linux, an entry in the applications menu (~/.local/share/applications).
#
#   sh scripts/install.sh && .venv/bin/netcore-studio            install, then launch
#   sh scripts/install.sh --test && .venv/bin/python -m pytest -q  the tests
#
# Options: --test (also the test tools; no menu entry), --no-system (skip step 1),
# --system-only (only step 1), --no-desktop-entry. Environment: PYTHON (default python3).
# Running it again updates the installation.
set -eu

SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
cd "$(dirname "$SELF")/.."
VENV=.venv
PACKAGES=scripts/apt-packages.txt
PYTHON=${PYTHON:-python3}
extra=""
system=yes
venv=yes
entry=yes

say() { printf 'install: %s\n' "$*"; }
fail() {
    printf 'install: error: %s\n' "$*" >&2
    exit 1
}

for arg in "$@"; do
    case $arg in
        --test) extra="[test]" entry=no ;;
        --no-system) system=no ;;
        --system-only) venv=no entry=no ;;
        --no-desktop-entry) entry=no ;;
        -h | --help)
            sed -n '2,15s/^# \{0,1\}//p' "$SELF"
            exit 0
            ;;
        *) fail "unknown option $arg (see --help)" ;;
    esac
done

# 1. System libraries -------------------------------------------------------------------
missing_packages() {
    # Ubuntu 24.04 renamed some libraries with a t64 suffix (libglib2.0-0t64): either counts.
    for p in $(sed 's/#.*//' "$PACKAGES"); do
        dpkg -s "$p" >/dev/null 2>&1 || dpkg -s "${p}t64" >/dev/null 2>&1 || printf '%s ' "$p"
    done
}

install_system_packages() {
    if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg >/dev/null 2>&1; then
        say "no apt-get here: skipping system packages (on macOS and Windows Qt's wheels carry their own)"
        return 0
    fi
    missing=$(missing_packages)
    if [ -z "$missing" ]; then
        say "system packages: all present"
        return 0
    fi
    if [ "$(id -u)" = 0 ]; then
        sudo=""
    elif command -v sudo >/dev/null 2>&1; then
        sudo="sudo"
        say "installing system packages with sudo: $missing"
    else
        say "warning: missing system packages and no sudo; as root run:"
        say "  apt-get install $missing"
        return 0
    fi
    say "installing system packages: $missing"
    # shellcheck disable=SC2086  # $missing is a list of words
    $sudo apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
        fail "apt-get could not install: $missing"
}

if [ "$system" = yes ]; then
    install_system_packages
fi
if [ "$venv" = no ]; then
    exit 0
fi

# Started with sudo: the venv and the menu entry belong to the user, not to root.
if [ "$(id -u)" = 0 ] && [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
    say "continuing as $SUDO_USER"
    exec sudo -u "$SUDO_USER" -H env PYTHON="$PYTHON" sh "$SELF" --no-system "$@"
fi

# 2. Virtual environment ----------------------------------------------------------------
command -v "$PYTHON" >/dev/null 2>&1 || fail "$PYTHON not found (set PYTHON to a Python 3.10 or newer)"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
    fail "netcore studio needs Python 3.10 or newer; $PYTHON is $("$PYTHON" -V 2>&1)"

first=no
if ! "$VENV/bin/python" -c '' >/dev/null 2>&1; then
    first=yes
    say "creating the virtual environment $VENV with $("$PYTHON" -V 2>&1) ($(command -v "$PYTHON"))"
    "$PYTHON" -m venv --clear "$VENV" ||
        fail "could not create $VENV: on Debian/Ubuntu install python3-venv (sudo apt-get install python3-venv)"
fi

export PIP_DISABLE_PIP_VERSION_CHECK=1
if [ "$first" = yes ]; then
    say "installing netcore studio$extra and its dependencies (the first time downloads about 100 MB)"
    "$VENV/bin/python" -m pip install -e ".$extra"
else
    say "updating netcore studio$extra in $VENV"
    "$VENV/bin/python" -m pip install -q -e ".$extra"
fi

# 3. Menu entry -------------------------------------------------------------------------
if [ "$entry" = yes ] && [ "$(uname -s)" = Linux ]; then
    "$VENV/bin/netcore-studio" --install-desktop-entry | sed 's/^/install: /'
fi

say "done: $("$VENV/bin/netcore-studio" --version)"
if [ -n "$extra" ]; then
    say "run the tests: $VENV/bin/python -m pytest -q"
else
    say "start it: $VENV/bin/netcore-studio   (or from the applications menu)"
fi
