#!/usr/bin/env python3
"""The include graph between knee's folders points down only (issue 14).

Each folder of engine/ is its own library; ui/ sits on the engine and app/ on both. A file may include
headers of its own folder and of the folders below it (the transitive closure of BELOW). A folder that is
not declared here fails the check too, so that a new layer is placed on purpose, not by accident.
Prints every include that points up or sideways, with file and line; exit 1 when there is one.
"""
import os
import re
import sys

# What each folder may include directly; what those may include, it may too. Keep in step with the
# picture in engine/CMakeLists.txt.
BELOW = {
    "base": [],
    "predict": [],    # Qt-free; its CUDA module is loaded at run time
    "telemetry": [],  # Qt-free; NVML is loaded at run time
    "metrics": ["base"],
    "sim": ["metrics"],
    "study": ["sim"],
    "io": ["sim", "predict"],
    "live": ["io", "study", "telemetry"],  # a live sweep's levels keep the GPUs' NVML figures
    "session": ["io", "study"],
    "report": ["session"],
    "net": ["live", "telemetry"],
    "runs": ["net", "session"],
    "ui": ["runs", "report"],
    "app": ["ui"],
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def closure(folder, seen=None):
    seen = set() if seen is None else seen
    for d in BELOW[folder]:
        if d not in seen:
            seen.add(d)
            closure(d, seen)
    return seen


def folder_of(root, path):
    rel = os.path.relpath(path, root).split(os.sep)
    return rel[1] if rel[0] == "engine" else rel[0]


def main(root):
    bad, files = [], 0
    known = set(BELOW)
    engine_folders = {d for d in os.listdir(os.path.join(root, "engine")) if os.path.isdir(os.path.join(root, "engine", d))}
    for f in sorted(engine_folders - known):
        bad.append(f"engine/{f}: a folder this check does not place (add it to BELOW in {sys.argv[0]})")
    for top in ("engine", "ui", "app"):
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for name in names:
                if not name.endswith((".h", ".cpp", ".cu")):
                    continue
                path = os.path.join(dirpath, name)
                src = folder_of(root, path)
                if src not in known:
                    continue
                allowed = closure(src) | {src}
                files += 1
                with open(path, encoding="utf-8", errors="replace") as fh:
                    text = fh.read()
                for m in INCLUDE.finditer(text):
                    first = m.group(1).split("/")[0]
                    if "/" not in m.group(1) or first not in known or first in allowed:
                        continue  # same folder, a folder's own subfolder (app/cli), or allowed
                    line = text.count("\n", 0, m.start()) + 1
                    bad.append(f"{os.path.relpath(path, root)}:{line}: {src} includes {m.group(1)} ({first} is not below {src})")
    for b in bad:
        print(b)
    print(f"check_layers: {files} files, {len(bad)} includes that point up or sideways")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")))
