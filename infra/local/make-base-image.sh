#!/bin/sh
# A local stand-in for python:3.11-slim-bookworm where no image registry is reachable:
# Debian bookworm made by debootstrap (from Debian's mirror, a package registry), with
# Debian's python3 (3.11) and pip, imported as an image. The images of infra/ take it as
# their base through the PYTHON_IMAGE build argument (infra/compose.host.yml,
# docs/operations.md). Needs root, debootstrap and a running docker daemon.
#
#   infra/local/make-base-image.sh [TAG]      # default picme/debian-python:bookworm
#
# CA certificates added to this host (/usr/local/share/ca-certificates, e.g. an egress
# proxy's) are added to the image too, so pip inside a build trusts the same servers.
set -eu
tag=${1:-picme/debian-python:bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
rootfs=$(mktemp -d /tmp/picme-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase \
  --include=python3,python3-pip,python3-venv,python-is-python3,ca-certificates \
  bookworm "$rootfs" "$mirror"
if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
  cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
  chroot "$rootfs" update-ca-certificates
fi
# Like the official python image: pip installs into the system's Python (no PEP 668
# marker), no apt lists or caches in the image.
rm -f "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin
tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
  --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
  --change 'CMD ["python3"]' - "$tag"
echo "made $tag"
