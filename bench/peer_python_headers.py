#!/usr/bin/env python3
"""Stand-in for huggingface_hub's safetensors header parsing, applied to a local model folder.

This is NOT huggingface_hub. The library is not installable here (no PyPI access, no Debian
package), so this script re-implements, with the Python 3 standard library only, the code path
`HfApi.get_safetensors_metadata()` follows, with each HTTP request replaced by the equivalent
local file read:

1. If `model.safetensors` exists, parse that one file. Otherwise, if
   `model.safetensors.index.json` exists, read it with `json.load`, take `weight_map`, and parse
   every distinct shard it names, in a thread pool (the library uses tqdm's `thread_map`, whose
   default is `min(32, os.cpu_count() + 4)` workers).
2. `parse_safetensors_file_metadata`: read the first 100,001 bytes (the library's
   `Range: bytes=0-100000` request), unpack the 8-byte little-endian header length, refuse
   lengths above 25,000,000 (SAFETENSORS_MAX_HEADER_LENGTH), take the header from the first read
   when it fits or read it again (`bytes=8-{n+7}`) when it does not, then
   `json.loads(header.decode(errors="ignore"))`.
3. `TensorInfo.parameter_count = functools.reduce(operator.mul, shape)` (1 for a scalar: reduce
   of an empty list raises TypeError); `SafetensorsFileMetadata.parameter_count` sums it per
   dtype; `SafetensorsRepoMetadata.parameter_count` sums the files' dicts.

What it leaves out of the real library's cost: importing huggingface_hub (and requests, tqdm,
...), building the dataclasses' full objects beyond what is needed here, and every network round
trip. It is therefore a lower bound on the library's time and memory for the same folder.

Prints one JSON object: {"parameter_count": {dtype: n}, "total": n, "tensors": n, "files": n,
"parse_ms": t}, where parse_ms is the in-process time of get_safetensors_metadata() and the
summation (no interpreter start-up, no imports): what a long-lived Python process that had
already imported the library would spend.
"""

import concurrent.futures
import functools
import json
import operator
import os
import struct
import sys
import time
from collections import defaultdict

SAFETENSORS_SINGLE_FILE = "model.safetensors"
SAFETENSORS_INDEX_FILE = "model.safetensors.index.json"
SAFETENSORS_MAX_HEADER_LENGTH = 25_000_000
FIRST_READ_BYTES = 100_001  # Range: bytes=0-100000


class SafetensorsParsingError(Exception):
    pass


class NotASafetensorsRepoError(Exception):
    pass


class TensorInfo:
    __slots__ = ("dtype", "shape", "data_offsets", "parameter_count")

    def __init__(self, dtype, shape, data_offsets):
        self.dtype = dtype
        self.shape = shape
        self.data_offsets = data_offsets
        try:
            self.parameter_count = functools.reduce(operator.mul, self.shape)
        except TypeError:
            self.parameter_count = 1  # scalar value has no shape


class SafetensorsFileMetadata:
    def __init__(self, metadata, tensors):
        self.metadata = metadata
        self.tensors = tensors
        parameter_count = defaultdict(int)
        for tensor in self.tensors.values():
            parameter_count[tensor.dtype] += tensor.parameter_count
        self.parameter_count = dict(parameter_count)


class SafetensorsRepoMetadata:
    def __init__(self, metadata, sharded, weight_map, files_metadata):
        self.metadata = metadata
        self.sharded = sharded
        self.weight_map = weight_map
        self.files_metadata = files_metadata
        parameter_count = defaultdict(int)
        for file_metadata in self.files_metadata.values():
            for dtype, nb_parameters_ in file_metadata.parameter_count.items():
                parameter_count[dtype] += nb_parameters_
        self.parameter_count = dict(parameter_count)


def parse_safetensors_file_metadata(path):
    with open(path, "rb") as f:
        content = f.read(FIRST_READ_BYTES)
        metadata_size = struct.unpack("<Q", content[:8])[0]
        if metadata_size > SAFETENSORS_MAX_HEADER_LENGTH:
            raise SafetensorsParsingError(
                f"Failed to parse safetensors header for '{path}': safetensors header is too big. "
                f"Maximum supported size is {SAFETENSORS_MAX_HEADER_LENGTH} bytes "
                f"(got {metadata_size})."
            )
        if metadata_size <= 100_000:
            metadata_as_bytes = content[8 : 8 + metadata_size]
        else:
            f.seek(8)
            metadata_as_bytes = f.read(metadata_size)
    try:
        metadata_as_dict = json.loads(metadata_as_bytes.decode(errors="ignore"))
    except json.JSONDecodeError as e:
        raise SafetensorsParsingError(
            f"Failed to parse safetensors header for '{path}': header is not json-encoded string."
        ) from e
    try:
        return SafetensorsFileMetadata(
            metadata=metadata_as_dict.get("__metadata__", {}),
            tensors={
                key: TensorInfo(
                    dtype=tensor["dtype"],
                    shape=tensor["shape"],
                    data_offsets=tuple(tensor["data_offsets"]),
                )
                for key, tensor in metadata_as_dict.items()
                if key != "__metadata__"
            },
        )
    except (KeyError, IndexError) as e:
        raise SafetensorsParsingError(
            f"Failed to parse safetensors header for '{path}': header format not recognized."
        ) from e


def get_safetensors_metadata(folder):
    single = os.path.join(folder, SAFETENSORS_SINGLE_FILE)
    index_path = os.path.join(folder, SAFETENSORS_INDEX_FILE)
    if os.path.exists(single):
        file_metadata = parse_safetensors_file_metadata(single)
        return SafetensorsRepoMetadata(
            metadata=None,
            sharded=False,
            weight_map={name: SAFETENSORS_SINGLE_FILE for name in file_metadata.tensors.keys()},
            files_metadata={SAFETENSORS_SINGLE_FILE: file_metadata},
        )
    if os.path.exists(index_path):
        with open(index_path) as f:
            index = json.load(f)
        weight_map = index.get("weight_map", {})
        files_metadata = {}

        def _parse(filename):
            files_metadata[filename] = parse_safetensors_file_metadata(
                os.path.join(folder, filename)
            )

        workers = min(32, (os.cpu_count() or 1) + 4)  # tqdm.contrib.concurrent.thread_map
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(_parse, set(weight_map.values())))
        return SafetensorsRepoMetadata(
            metadata=index.get("metadata", None),
            sharded=True,
            weight_map=weight_map,
            files_metadata=files_metadata,
        )
    raise NotASafetensorsRepoError(
        f"'{folder}' is not a safetensors repo. Couldn't find '{SAFETENSORS_INDEX_FILE}' or "
        f"'{SAFETENSORS_SINGLE_FILE}' files."
    )


def main(argv):
    if len(argv) != 2:
        print(f"usage: {argv[0]} MODEL_FOLDER", file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        repo = get_safetensors_metadata(argv[1])
    except (OSError, SafetensorsParsingError, NotASafetensorsRepoError) as e:
        print(f"peer_python_headers: error: {e}", file=sys.stderr)
        return 3
    result = {
        "parameter_count": repo.parameter_count,
        "total": sum(repo.parameter_count.values()),
        "tensors": sum(len(m.tensors) for m in repo.files_metadata.values()),
        "files": len(repo.files_metadata),
    }
    result["parse_ms"] = (time.perf_counter() - start) * 1000.0
    json.dump(result, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
