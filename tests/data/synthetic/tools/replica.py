#!/usr/bin/env python3
"""Writes header-only safetensors replicas: the 8-byte length and the JSON header of a
checkpoint whose tensor names, shapes and dtypes are given, with no data region.

    from replica import write_replica
    write_replica(folder, [(name, dtype, [shape...]), ...], shards=1)

A server serving such a file reports the full logical size; a reader sees a real header.
Used by the make_*.py scripts beside it, one per test model; stdlib only."""
import json
import os
import struct

DTYPE_BYTES = {"BF16": 2, "F16": 2, "F32": 4, "F8_E4M3": 1, "U8": 1, "I32": 4, "I8": 1}


def _header(tensors):
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, dtype, shape in tensors:
        n = DTYPE_BYTES[dtype]
        for d in shape:
            n *= d
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    return header, offset


def _write(path, header):
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)


def write_replica(folder, tensors, shards=1):
    os.makedirs(folder, exist_ok=True)
    if shards == 1:
        _write(os.path.join(folder, "model.safetensors"), _header(tensors)[0])
        return
    per = -(-len(tensors) // shards)
    weight_map, total = {}, 0
    for i in range(shards):
        part = tensors[i * per:(i + 1) * per]
        name = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        header, size = _header(part)
        total += size
        _write(os.path.join(folder, name), header)
        weight_map.update({t[0]: name for t in part})
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")


def write_config(folder, config):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
