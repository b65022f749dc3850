#!/bin/sh
# Installs the C interface: the three libraries, the five headers and pkg-config files.
#
#   scripts/install-c.sh [--prefix DIR] [--from DIR]
#
#   --prefix DIR  where to install (default /usr/local): DIR/lib, DIR/include/secure_channel,
#                 DIR/lib/pkgconfig
#   --from DIR    take already built libraries from DIR instead of running
#                 `cargo build --release` (for packaging and tests)
#
# Then build against them with pkg-config:
#   cc client.c $(pkg-config --cflags --libs csecure_channel)
#   cc server.c $(pkg-config --cflags --libs usecure_channel)
#   cc enclave.c $(pkg-config --cflags --libs --static tsecure_channel)
# (set PKG_CONFIG_PATH=DIR/lib/pkgconfig for a non-standard prefix). The shared libraries
# carry the SONAME lib?secure_channel.so.0; the script says at the end how programs find
# them at run time (ldconfig for a system prefix, an rpath or LD_LIBRARY_PATH otherwise).
set -eu

prefix=/usr/local
from=
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix=$2; shift 2 ;;
        --from) from=$2; shift 2 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "install-c.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "$from" ]; then
    (cd "$root" && cargo build --release -p sc-ffi-client -p sc-ffi-host -p sc-ffi-enclave)
    from=$root/target/release
fi
for lib in libcsecure_channel.so libusecure_channel.so libtsecure_channel.a; do
    [ -f "$from/$lib" ] || { echo "install-c.sh: $from/$lib not found" >&2; exit 1; }
done

version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n 1)
libdir=$prefix/lib
includedir=$prefix/include/secure_channel
pcdir=$libdir/pkgconfig
install -d "$libdir" "$includedir" "$pcdir"
# Each shared library as the real file lib?secure_channel.so.VERSION, with the SONAME link
# (.so.0, what programs load) and the development link (.so, what -l finds).
for lib in libcsecure_channel libusecure_channel; do
    install -m 0755 "$from/$lib.so" "$libdir/$lib.so.$version"
    ln -sf "$lib.so.$version" "$libdir/$lib.so.0"
    ln -sf "$lib.so.0" "$libdir/$lib.so"
done
install -m 0644 "$from/libtsecure_channel.a" "$libdir/"
install -m 0644 "$root"/include/*.h "$includedir/"

pc() { # name description libs private-libs
    cat > "$pcdir/$1.pc" <<PC
prefix=$prefix
libdir=$libdir
includedir=$includedir

Name: $1
Description: $2
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} $3
Libs.private: $4
PC
}
pc csecure_channel "Attested secure channel: client (data owner)" "-lcsecure_channel" ""
pc usecure_channel "Attested secure channel: server host (untrusted relay)" "-lusecure_channel" "-lpthread"
pc tsecure_channel "Attested secure channel: enclave runtime (static)" "-ltsecure_channel" "-lpthread -ldl -lm"
echo "installed libcsecure_channel.so.$version, libusecure_channel.so.$version (SONAME .so.0)"
echo "and libtsecure_channel.a in $libdir, headers in $includedir,"
echo "pkg-config files in $pcdir"
echo
# How programs will find the shared libraries at run time: the loader searches the
# ldconfig cache and its trusted directories, never a prefix it was not told about.
if ldconfig -p 2>/dev/null | grep -q "$libdir/libcsecure_channel.so.0"; then
    echo "the loader already knows $libdir."
else
    case "$libdir" in
        /lib|/usr/lib|/lib64|/usr/lib64|/usr/local/lib)
            echo "run time: refresh the loader's cache so programs find the libraries:"
            echo "  sudo ldconfig"
            ;;
        *)
            echo "run time: $libdir is not searched by the loader. Either build with an rpath:"
            echo "  cc app.c \$(pkg-config --cflags --libs csecure_channel) -Wl,-rpath,$libdir"
            echo "or run with LD_LIBRARY_PATH=$libdir, or add it to the loader's search path:"
            echo "  echo $libdir | sudo tee /etc/ld.so.conf.d/secure_channel.conf && sudo ldconfig"
            ;;
    esac
fi
