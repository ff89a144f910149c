#!/usr/bin/env bash
# Debian's texlive for bench/bench_pdf.py (pdflatex, psnfss fonts, fancyhdr); the tests never need it.
set -euo pipefail
if command -v pdflatex >/dev/null; then echo "pdflatex is already installed"; exit 0; fi
SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends \
    texlive-latex-base texlive-latex-recommended texlive-fonts-recommended
