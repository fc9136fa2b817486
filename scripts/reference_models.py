"""Hugging Face GPT-2 and Llama folders (model.safetensors + config.json, as gns4j's checkpoints are) loaded into the
plain-PyTorch models of gpt2_reference.py and llama_reference.py, for checks where transformers is not installed.
The safetensors file is read with numpy alone (8-byte little-endian header length, JSON header, raw data).
"""
import json
import os
import struct

import numpy as np
import torch

_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64}


def read_safetensors(path):
    """name -> float32 tensor of every entry in a .safetensors file."""
    with open(path, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_len))
        data = f.read()
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] not in _DTYPES:
            raise ValueError(f"{path}: {name} has dtype {entry['dtype']}, not one this reader knows")
        start, end = entry["data_offsets"]
        values = np.frombuffer(data[start:end], dtype=_DTYPES[entry["dtype"]]).reshape(entry["shape"])
        tensors[name] = torch.from_numpy(values.astype(np.float32))
    return tensors


def load(folder):
    """The model of a Hugging Face GPT-2 or Llama folder (by config.json's model_type); refuses a folder whose tensors
    do not match the model one for one."""
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    if cfg.get("model_type") == "llama":
        from llama_reference import LlamaReference as Model
    elif cfg.get("model_type", "gpt2") == "gpt2":
        from gpt2_reference import Gpt2Reference as Model
    else:
        raise ValueError(f"{folder}: model_type {cfg.get('model_type')} is neither gpt2 nor llama")
    model = Model(cfg)
    tensors = read_safetensors(os.path.join(folder, "model.safetensors"))
    if model.tied:
        tensors.pop("lm_head.weight", None)  # a tied head is the token embedding
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    if missing or unexpected:
        raise ValueError(f"{folder}: missing {missing}, unexpected {unexpected}")
    return model
