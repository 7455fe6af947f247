#!/usr/bin/env bash
# Builds the Debian package and checks it the way an operator would meet it: the file list
# (binary, unit, conffiles, man pages, completions), lintian with no error, every man page
# rendered by man, the bash completion parsed by bash, and the packaged binary's `check`
# passing on the packaged configuration unpacked into a temporary root.
# Installs what it needs (cargo-deb, lintian, man-db) only when missing. Run from .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo-deb >/dev/null 2>&1; then
  cargo install --locked cargo-deb
fi
if ! command -v lintian >/dev/null 2>&1 || ! command -v man >/dev/null 2>&1; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends lintian man-db
fi

# The release profile (fat LTO) is what ships: the package is built with it, not a faster one.
cargo build --locked --release
bin=target/release/trailwatch

# Man pages: section 1 generated from the clap definitions, section 5 written by hand.
rm -rf target/man target/completions
mkdir -p target/man target/completions
"$bin" manpages target/man
cp man/*.5 target/man/
for page in target/man/*.[15]; do
  # `man -l` must render every page without a warning (groff reports bad requests on stderr).
  warnings=$(MANWIDTH=80 man -l "$page" 2>&1 >/dev/null)
  if [ -n "$warnings" ]; then
    echo "package: $page does not render cleanly: $warnings" >&2
    exit 1
  fi
  gzip -9n "$page"
done
"$bin" completions bash >target/completions/trailwatch.bash
"$bin" completions zsh >target/completions/_trailwatch
"$bin" completions fish >target/completions/trailwatch.fish
bash -n target/completions/trailwatch.bash

rm -rf target/debian
cargo deb --no-build --locked
deb=$(ls target/debian/trailwatch_*.deb)
echo "package: built $deb"

# The file list: each line is a path the package must hold.
listing=$(dpkg-deb --contents "$deb" | awk '{print $6}' | sed 's|^\./|/|')
conffiles=$(dpkg-deb --info "$deb" conffiles)
for want in \
  /usr/bin/trailwatch \
  /usr/lib/systemd/system/trailwatch.service \
  /etc/trailwatch/trailwatch.yaml \
  /etc/trailwatch/rules.d/aws_rds_security_group_ingress_authorized.yml \
  /etc/trailwatch/sinks.d/stdout.yaml \
  /usr/share/man/man1/trailwatch.1.gz \
  /usr/share/man/man1/trailwatch-status.1.gz \
  /usr/share/man/man5/trailwatch.yaml.5.gz \
  /usr/share/man/man5/trailwatch-rules.5.gz \
  /usr/share/bash-completion/completions/trailwatch \
  /usr/share/zsh/vendor-completions/_trailwatch \
  /usr/share/fish/vendor_completions.d/trailwatch.fish \
  /usr/share/doc/trailwatch/README.md; do
  if ! grep -qx -- "$want" <<<"$listing"; then
    echo "package: $want is missing from $deb" >&2
    exit 1
  fi
done
for want in /etc/trailwatch/trailwatch.yaml /etc/trailwatch/sinks.d/file.yaml \
  /etc/trailwatch/rules.d/aws_rds_security_group_ingress_authorized.yml; do
  if ! grep -qx -- "$want" <<<"$conffiles"; then
    echo "package: $want is not a conffile" >&2
    exit 1
  fi
done
for script in postinst prerm postrm; do
  if ! dpkg-deb --info "$deb" "$script" | grep -q deb-systemd; then
    echo "package: $script does not handle the unit through deb-systemd-helper/invoke" >&2
    exit 1
  fi
done

# lintian: errors fail the build; warnings are printed for a person to judge.
lintian --fail-on error --allow-root "$deb"

# The packaged binary checks the packaged configuration, rebased into a temporary root.
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
dpkg-deb --extract "$deb" "$root"
mkdir -p "$root/var/lib/trailwatch" "$root/var/log/cloudtrail"
for f in "$root"/etc/trailwatch/trailwatch.yaml "$root"/etc/trailwatch/sinks.d/*.yaml; do
  sed -i -e "s|/etc/trailwatch|$root/etc/trailwatch|g" -e "s|/var/lib/trailwatch|$root/var/lib/trailwatch|g" \
    -e "s|/var/log/cloudtrail|$root/var/log/cloudtrail|g" "$f"
done
"$root/usr/bin/trailwatch" check --config "$root/etc/trailwatch/trailwatch.yaml"
if command -v systemd-analyze >/dev/null 2>&1; then
  # The unit as installed (its ExecStart must exist): verify against the unpacked binary.
  sed "s|/usr/bin/trailwatch|$root/usr/bin/trailwatch|" "$root/usr/lib/systemd/system/trailwatch.service" \
    >"$root/trailwatch.service"
  # Its Documentation= names man:trailwatch(1): let man find the unpacked page.
  MANPATH="$root/usr/share/man" systemd-analyze verify "$root/trailwatch.service"
fi
echo "package: $deb passes its checks"
