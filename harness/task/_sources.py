"""Where a task's items come from: a JSONL, CSV/TSV or parquet file, a `datasets`
`save_to_disk` folder, a local folder of data files, or `hf:<name>` from the Hugging Face
cache. Every source gives rows as (where, row): `where` names the file and line (or row)
so a bad item is reported where the user can find it. Paths are relative to the task file.

JSONL and CSV are read line by line here (CSV with Python's csv module: `datasets` would
guess types and turn an id such as 007 into the number 7); parquet, folders and the hub go
through `datasets`, which is what they are made for."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from harness.core import UserError

SUPPORTED = ("a .jsonl file, a .csv or .tsv file (columns id, source, optional ref_key, meta.<name>), "
             "a .parquet file, a datasets save_to_disk folder, a folder of .jsonl/.csv/.parquet files, "
             "or hf:<dataset name> from the local Hugging Face cache")
FILE_SUFFIXES = (".jsonl", ".csv", ".tsv", ".parquet")
ITEM_KEYS = {"id", "source", "ref_key", "meta"}


class SourceError(UserError):
    """A problem of the items source as a whole (not of one row): the task loader prefixes
    it with the task file and the line of its `items:` key, where the user fixes it."""


def first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


def drop_none(row: dict) -> dict:
    # datasets gives every row every column of the schema; absent fields come back None
    out = {k: v for k, v in row.items() if v is not None}
    if isinstance(out.get("meta"), dict):
        out["meta"] = {k: v for k, v in out["meta"].items() if v is not None}
    return out


def _read_utf8(path: Path, what: str, encoding: str = "utf-8") -> str:
    try:
        return path.read_text(encoding=encoding)
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read {what} ({first_line(exc)})") from None


def _datasets():
    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    return datasets


def csv_rows(path: Path, read_text) -> list[tuple[str, dict]]:
    """Rows of a CSV/TSV file with a header: `meta.<name>` columns go into meta (a `meta`
    column may also hold a JSON object); empty cells are absent fields."""
    import io

    text = read_text(path, "items file", "utf-8-sig")
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    if not reader.fieldnames or "id" not in reader.fieldnames or "source" not in reader.fieldnames:
        raise UserError(f"{path}:1: the header needs the columns id and source "
                        f"(found: {', '.join(reader.fieldnames or []) or 'none'})")
    unknown = [c for c in reader.fieldnames if c not in ITEM_KEYS and not c.startswith("meta.")]
    if unknown:
        raise UserError(f"{path}:1: unknown column {unknown[0]!r} (allowed: id, source, ref_key, meta, "
                        "meta.<name>)")
    out = []
    for row in reader:
        line = reader.line_num
        if None in row:
            raise UserError(f"{path}:{line}: more cells than header columns (quote cells that contain "
                            f"{'tabs' if delimiter == chr(9) else 'commas'})")
        missing = [k for k, v in row.items() if v is None]  # csv fills absent trailing cells with None
        if missing:
            raise UserError(f"{path}:{line}: {len(row) - len(missing)} cells for {len(row)} header columns "
                            f"(missing: {', '.join(missing)}); add the missing cells, empty ones if unknown")
        item: dict = {}
        meta: dict = {}
        for key, value in row.items():
            if value is None or value == "":
                continue
            if key == "meta":
                try:
                    meta.update(json.loads(value))
                except (json.JSONDecodeError, TypeError, ValueError):
                    raise UserError(f"{path}:{line}: the meta cell must be a JSON object") from None
            elif key.startswith("meta."):
                meta[key[5:]] = value
            else:
                item[key] = value
        if meta:
            item["meta"] = meta
        out.append((f"{path}:{line}", item))
    return out


def _dataset_split(ds, split: str | None, what: str):
    """One split of a Dataset or DatasetDict; the split is required when there are several."""
    if not hasattr(ds, "keys"):  # a plain Dataset
        return ds
    names = list(ds.keys())
    if split is None:
        if len(names) == 1:
            return ds[names[0]]
        raise SourceError(f"{what}: has the splits {', '.join(names)}; say which with `split:` in the task file (or hf:<folder>:<split>)")
    if split not in names:
        raise SourceError(f"{what}: no split {split!r} (splits: {', '.join(names)}); name one of them")
    return ds[split]


def _rows_of(ds, label: str) -> list[tuple[str, dict]]:
    return [(f"{label}[row {k + 1}]", drop_none(dict(r))) for k, r in enumerate(ds)]


def _split_rows(ds, split: str | None, folder: Path) -> list[tuple[str, dict]]:
    """The rows of the chosen split of a loaded dataset (dict), labelled `<folder>[:<split>]`."""
    return _rows_of(_dataset_split(ds, split, str(folder)), f"{folder}{f':{split}' if split else ''}")


def parquet_rows(path: Path) -> list[tuple[str, dict]]:
    datasets = _datasets()
    try:
        ds = datasets.load_dataset("parquet", data_files=str(path), split="train")
    except Exception as exc:  # noqa: BLE001 - a damaged or foreign file is the user's to fix
        raise SourceError(f"{path}: cannot read this parquet file ({first_line(exc)})") from None
    return _rows_of(ds, str(path))


def is_saved_dataset(folder: Path) -> bool:
    return (folder / "dataset_info.json").exists() or (folder / "dataset_dict.json").exists() \
        or (folder / "state.json").exists()


def saved_dataset_rows(folder: Path, split: str | None) -> list[tuple[str, dict]]:
    datasets = _datasets()
    try:
        ds = datasets.load_from_disk(str(folder))
    except Exception as exc:  # noqa: BLE001
        raise SourceError(f"{folder}: cannot load this save_to_disk folder ({first_line(exc)})") from None
    return _split_rows(ds, split, folder)


def _csv_folder_rows(folder: Path, split: str | None, read_text) -> list[tuple[str, dict]]:
    """CSV/TSV files of a folder, split by file name as `datasets` does, each read by
    csv_rows: the same `meta.<name>` columns and line numbers as a single CSV file."""
    from datasets.data_files import DataFilesDict, get_data_patterns

    try:
        by_split = DataFilesDict.from_patterns(get_data_patterns(str(folder)), base_path=str(folder))
    except Exception as exc:  # noqa: BLE001
        raise SourceError(f"{folder}: cannot tell the splits of this folder ({first_line(exc)})") from None
    files = _dataset_split({str(k): v for k, v in by_split.items()}, split, str(folder))
    return [row for f in sorted(files) for row in csv_rows(Path(f), read_text)]


def folder_rows(folder: Path, split: str | None, read_text=None) -> list[tuple[str, dict]]:
    """A folder of data files, split by file name as `datasets` does (train/test/validation)."""
    files = [p for p in folder.rglob("*") if p.suffix.lower() in FILE_SUFFIXES]
    if not files:
        raise SourceError(f"{folder}: no .jsonl, .csv, .tsv or .parquet files in this folder (supported: {SUPPORTED})")
    suffixes = {p.suffix.lower() for p in files}
    if len(suffixes) > 1:
        raise SourceError(f"{folder}: mixes {', '.join(sorted(suffixes))} files; keep one format per folder")
    datasets = _datasets()
    if suffixes <= {".csv", ".tsv"}:
        return _csv_folder_rows(folder, split, read_text or _read_utf8)
    try:
        ds = datasets.load_dataset(str(folder))
    except Exception as exc:  # noqa: BLE001
        raise SourceError(f"{folder}: datasets cannot load this folder ({first_line(exc)})") from None
    return _split_rows(ds, split, folder)


def hub_rows(spec: str, split: str | None) -> list[tuple[str, dict]]:
    """`hf:<dataset>[:<split>]` from the hub cache (offline: HF_HUB_OFFLINE=1, HF_HOME)."""
    name, _, inline = spec[3:].partition(":")
    split = inline or split
    datasets = _datasets()
    try:
        ds = datasets.load_dataset(name, split=split) if split else datasets.load_dataset(name)
    except Exception as exc:  # noqa: BLE001 - offline, unknown name, wrong split: all the user's to fix
        raise SourceError(f"{spec}: cannot load this dataset ({first_line(exc)}); check the name, or put the "
                          "dataset in the local Hugging Face cache (HF_HOME), or go online") from None
    chosen = _dataset_split(ds, split, spec)
    return _rows_of(chosen, f"hf:{name}{f':{split}' if split else ''}")
