#!/usr/bin/env python3
"""Fetches NVRTC 12 (libnvrtc.so.12 and its builtins, about 63 MB) for compile checks of the Hopper (sm_90a) kernels on a
machine without CUDA 12: Debian's libnvrtc11.2 (NVRTC 11.8) has no wgmma. The two libraries are read out of the CUDA
redistributable jar on Maven Central with HTTP range requests, so the 2 GB jar is not downloaded.
KernelSourcesTest compiles the kernels for sm_90a with them when they are in DIR.
    scripts/fetch_nvrtc12.py [DIR]      (default: ~/.cache/gns4j/nvrtc12)
"""
import io
import os
import sys
import urllib.request
import zipfile

JAR = ("https://repo1.maven.org/maven2/org/bytedeco/cuda/12.6-9.5-1.5.11/"
       "cuda-12.6-9.5-1.5.11-linux-x86_64-redist.jar")
PREFIX = "org/bytedeco/cuda/linux-x86_64/"
WANTED = ("libnvrtc.so.12", "libnvrtc-builtins.so.12.6")


class RangeFile(io.RawIOBase):
    """A read-only, seekable view of a remote file: each read is one HTTP range request."""

    def __init__(self, url):
        self.url, self.pos = url, 0
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=60) as r:
            self.size = int(r.headers["Content-Length"])

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self.pos

    def seek(self, offset, whence=0):
        self.pos = {0: offset, 1: self.pos + offset, 2: self.size + offset}[whence]
        return self.pos

    def readinto(self, buf):
        n = min(len(buf), self.size - self.pos)
        if n <= 0:
            return 0
        req = urllib.request.Request(self.url, headers={"Range": f"bytes={self.pos}-{self.pos + n - 1}"})
        with urllib.request.urlopen(req, timeout=300) as r:
            data = r.read()
        buf[:len(data)] = data
        self.pos += len(data)
        return len(data)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/gns4j/nvrtc12")
    os.makedirs(out, exist_ok=True)
    with zipfile.ZipFile(io.BufferedReader(RangeFile(JAR), buffer_size=1 << 20)) as jar:
        for name in WANTED:
            target = os.path.join(out, name)
            if os.path.exists(target):
                continue
            with jar.open(PREFIX + name) as src, open(target + ".part", "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
            os.replace(target + ".part", target)
            print(f"{target} ({os.path.getsize(target) / 1e6:.1f} MB)")
    print(f"NVRTC 12 in {out}")


if __name__ == "__main__":
    main()
