#!/usr/bin/env bash
# Installs the system packages pianoplay needs (FluidSynth, a General MIDI
# soundfont, Chromium for the browser test) when they are missing.
# Idempotent: prints nothing and exits fast when everything is present.
set -euo pipefail

# ldconfig lives in /sbin, which is not on a normal user's PATH.
has_fluidsynth() {
  local ldconfig
  for ldconfig in "$(command -v ldconfig || true)" /sbin/ldconfig /usr/sbin/ldconfig; do
    [ -x "$ldconfig" ] && "$ldconfig" -p 2>/dev/null | grep -q 'libfluidsynth\.so\.3' && return 0
  done
  return 1
}

# Each folder on its own: one command over several globs fails as soon as any
# of them matches nothing. The folders are those pianoplay.audio.find_soundfont searches.
has_soundfont() {
  local dir sf2
  [ -n "${PIANOPLAY_SOUNDFONT:-}" ] && return 0
  for dir in soundfonts /usr/share/sounds/sf2 /usr/share/soundfonts /usr/local/share/soundfonts \
             /opt/homebrew/share/soundfonts; do
    for sf2 in "$dir"/*.sf2; do
      [ -f "$sf2" ] && return 0
    done
  done
  return 1
}

need=()
has_fluidsynth || need+=(libfluidsynth3)
has_soundfont || need+=(timgm6mb-soundfont)
if [ "${PIANOPLAY_SKIP_BROWSER:-0}" != 1 ] && [ ! -x /usr/bin/chromium ]; then
  need+=(chromium)
fi
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  SUDO="sudo -n"
else
  echo "pianoplay: missing system packages: ${need[*]}" >&2
  echo "  Debian/Ubuntu: sudo apt-get install ${need[*]}" >&2
  echo "  macOS: brew install fluid-synth (and set PIANOPLAY_SOUNDFONT to a .sf2 file)" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null; then
  echo "pianoplay: no apt-get here; install FluidSynth 2.x and a General MIDI .sf2 by hand: ${need[*]}" >&2
  exit 1
fi
echo "pianoplay: installing ${need[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
