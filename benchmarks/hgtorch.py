# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared by compare-torch and torch-crosscheck: read a Histoguard model file
(safetensors, parsed here byte by byte, not with a library) and build the
same network in PyTorch from its architecture description."""

import json
import os
import struct
import subprocess
import sys

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # a fresh machine: say what to install
    sys.exit(f"{os.path.basename(sys.argv[0])}: Python module '{e.name}' is missing. These benchmarks use Debian's"
             f" PyTorch through /usr/bin/python3: apt-get install python3-torch python3-numpy python3-pil")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_safetensors(path):
    """Returns (metadata dict, {name: float32 numpy array})."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n])
    data = blob[8 + n :]
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, t in header.items():
        assert t["dtype"] == "F32", (name, t["dtype"])
        begin, end = t["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype="<f4").reshape(t["shape"]).copy()
    return meta, tensors


class HgNet(nn.Module):
    """The network an architecture description describes; NCHW like torch."""

    def __init__(self, arch, mean, std):
        super().__init__()
        self.arch = arch
        h, w, c = arch["input"]
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))
        shapes = {"input": (c, h, w)}
        self.layers = nn.ModuleDict()
        self.order = []
        prev = "input"
        for node in arch["nodes"]:
            name, op = node["name"], node["op"]
            inputs = node.get("inputs", [prev])
            cin, hin, win = shapes[inputs[0]]
            key = name.replace(".", "_")
            if op == "conv2d":
                k, s, p = node["kernel"], node["stride"], node["padding"]
                self.layers[key] = nn.Conv2d(cin, node["channels"], k, s, p, bias=node["bias"])
                shape = (node["channels"], (hin + 2 * p - k) // s + 1, (win + 2 * p - k) // s + 1)
            elif op == "batchnorm":
                self.layers[key] = nn.BatchNorm2d(cin, eps=node["eps"], momentum=node["momentum"])
                shape = (cin, hin, win)
            elif op in ("maxpool", "avgpool"):
                k, s, p = node["kernel"], node["stride"], node["padding"]
                cls = nn.MaxPool2d if op == "maxpool" else nn.AvgPool2d
                self.layers[key] = cls(k, s, p)
                shape = (cin, (hin + 2 * p - k) // s + 1, (win + 2 * p - k) // s + 1)
            elif op == "dense":
                self.layers[key] = nn.Linear(cin * hin * win, node["units"], bias=node["bias"])
                shape = (node["units"], 1, 1)
            elif op == "dropout":
                self.layers[key] = nn.Dropout(node["rate"])
                shape = (cin, hin, win)
            elif op == "concat":
                shape = (sum(shapes[i][0] for i in inputs), hin, win)
            elif op == "global_avgpool":
                shape = (cin, 1, 1)
            else:  # relu, add
                shape = (cin, hin, win)
            shapes[name] = shape
            self.order.append((name, key, op, inputs))
            prev = name
        self.shapes = shapes
        # torch-crosscheck: the engine's ReLU decisions (name -> 0/1 tensor),
        # taken where the pre-activation is within kink_margin (relative to
        # the layer's largest) of zero, too close for float32 to decide
        self.relu_masks = None
        self.kink_margin = 0.0
        self.kink_flips = 0  # near-kink elements where the engine decided otherwise
        self.far_flips = 0  # elsewhere: a real disagreement

    def forward(self, x):
        values = {"input": (x - self.mean) / self.std}
        out = None
        for name, key, op, inputs in self.order:
            a = values[inputs[0]]
            if op == "relu":
                out = F.relu(a)
                ours = self.relu_masks.get(name) if self.relu_masks else None
                if ours is not None:
                    near = a.detach().abs() <= self.kink_margin * float(a.detach().abs().max())
                    differ = (a.detach() > 0) != (ours > 0)
                    self.kink_flips += int((near & differ).sum())
                    self.far_flips += int((~near & differ).sum())
                    out = torch.where(near, a * ours, out)
            elif op == "concat":
                out = torch.cat([values[i] for i in inputs], dim=1)
            elif op == "add":
                out = sum(values[i] for i in inputs)
            elif op == "global_avgpool":
                out = a.mean(dim=(2, 3), keepdim=True)
            elif op == "dense":
                out = self.layers[key](a.flatten(1)).view(a.shape[0], -1, 1, 1)
            else:
                out = self.layers[key](a)
            values[name] = out
        return out.flatten(1)


def load_torch_model(path):
    meta, tensors = read_safetensors(path)
    arch = json.loads(meta["arch"])
    net = HgNet(arch, json.loads(meta["mean"]), json.loads(meta["std"]))
    state = {}
    for name, array in tensors.items():
        node, _, field = name.rpartition(".")
        state["layers." + node.replace(".", "_") + "." + field] = torch.from_numpy(array)
    missing, unexpected = net.load_state_dict(state, strict=False)
    missing = [m for m in missing if not m.endswith("num_batches_tracked") and m not in ("mean", "std")]
    assert not missing and not unexpected, (missing, unexpected)
    return net, arch, meta


def hg_bench():
    """The engine's side, built by meson."""
    path = os.environ.get("HG_BENCH")
    if path is None:
        for build in ("_build", "build", "builddir"):
            candidate = os.path.join(ROOT, build, "benchmarks", "hg-bench")
            if os.path.exists(candidate):
                path = candidate
                break
    if path is None:
        sys.exit("hg-bench not found: build first (meson setup _build && ninja -C _build) or set HG_BENCH")
    return path


def run_bench(*args, env=None):
    out = subprocess.run([hg_bench(), *map(str, args)], check=True, capture_output=True, text=True, env=env)
    return out.stdout


def idc_patches(n, seed=0):
    """n real 50x50 IDC patches as NCHW float32 in [0,1] with their labels,
    from ../shared/data when present; synthetic noise otherwise."""
    rng = np.random.default_rng(seed)
    shared = os.environ.get("HG_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))
    if not os.path.isdir(os.path.join(shared, "idc", "patches")):
        shared = os.path.join(ROOT, "..", "..", "shared", "data")
    root = os.path.join(shared, "idc", "patches")
    if os.path.isdir(root):
        from PIL import Image

        files = []
        for patient in sorted(os.listdir(root))[:40]:
            for label in ("0", "1"):
                d = os.path.join(root, patient, label)
                if os.path.isdir(d):
                    files += [(os.path.join(d, f), int(label)) for f in sorted(os.listdir(d))[:20]]
        rng.shuffle(files)
        x, y = [], []
        for path, label in files:
            img = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
            if img.shape != (50, 50, 3):
                continue
            x.append(img.transpose(2, 0, 1))
            y.append(label)
            if len(x) == n:
                return np.ascontiguousarray(np.stack(x)), np.array(y, dtype=np.int32), "IDC patches"
    x = rng.random((n, 3, 50, 50), dtype=np.float32)
    return x, (np.arange(n) % 2).astype(np.int32), "uniform noise"
