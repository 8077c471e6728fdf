"""The model registry: checkpoint folders discovered on disk, loaded lazily.

The registry is data: it lists ``checkpoints/*/config.json`` and builds
nothing until a model is asked for. Loaded models are cached; loading is
thread-safe (the Gradio server calls from worker threads).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pianoplay.errors import CheckpointError, PianoplayError
from pianoplay.models.checkpoint import CONFIG, WEIGHTS, read_config
from pianoplay.models.families import family_of, load_object
from pianoplay.models.spec import FamilySpec
from pianoplay.paths import CHECKPOINTS_DIR, personal_dir


@dataclass(frozen=True)
class CheckpointInfo:
    """What the registry knows about a checkpoint without loading it."""

    name: str
    spec: FamilySpec
    path: Path
    config: dict[str, Any] = field(repr=False)

    @property
    def family(self) -> str:
        return self.spec.name

    def refusal(self, tab: str) -> str | None:
        """Why this checkpoint is not offered in ``tab`` (one sentence), or None when it is:
        its family's reason, or its own (``not_for`` in config.json)."""
        own = (self.config.get("not_for") or {}).get(tab)
        if own:
            return str(own)
        if tab in self.spec.tabs or tab in self.also_for:
            return None
        return self.spec.refuses.get(tab) or (
            f"a {self.family} model serves {', '.join(self.spec.tabs) or 'no tab'}."
        )

    @property
    def also_for(self) -> tuple[str, ...]:
        """Tabs this checkpoint serves beyond its family's (``also_for`` in config.json: a
        personal prior gives the Latent tab its start points)."""
        return tuple(self.config.get("also_for") or ())

    @property
    def tabs(self) -> tuple[str, ...]:
        """The tabs (and CLI subcommands of the same name) this checkpoint serves."""
        return tuple(t for t in (*self.spec.tabs, *self.also_for) if self.refusal(t) is None)

    @property
    def strategies(self) -> tuple[str, ...]:
        """The decoding strategies offered (the first the default)."""
        return tuple(s for s in self.spec.strategies if self.strategy_refusal(s) is None)

    def strategy_refusal(self, strategy: str) -> str | None:
        """Why ``strategy`` is not offered for this checkpoint, or None."""
        own = (self.config.get("not_offered") or {}).get(strategy)
        if own:
            return str(own)
        if strategy in self.spec.strategies:
            return None
        return self.spec.not_offered.get(strategy) or (
            f"a {self.family} model decodes with {', '.join(self.spec.strategies) or 'none'}."
        )

    @property
    def temperature(self) -> float:
        """Default sampling temperature (Sample, Generate): the config's ``temperature``,
        else its ``decode_temperature``, else the family's."""
        own = self.config.get("temperature", self.config.get("decode_temperature"))
        return float(self.spec.temperature if own is None else own)

    @property
    def decode_temperature(self) -> float:
        """Default temperature for decoding a given code (Latent sliders, Interpolate)."""
        return float(self.config.get("decode_temperature", self.spec.decode_temperature))

    def first_choice_for(self, tab: str) -> bool:
        return tab in (self.config.get("app_roles") or ())

    @property
    def data(self) -> str:
        return str(self.config.get("data", {}).get("name", "?"))

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self.config.get("metrics", {}))

    @property
    def representation(self) -> dict[str, Any]:
        return dict(self.config.get("representation", {}))

    def card(self) -> str:
        """The model card (README.md beside the config), or a summary of the config."""
        readme = self.path / "README.md"
        if readme.is_file():
            return readme.read_text()
        lines = [f"### {self.name}", f"family: {self.family}", f"data: {self.data}"]
        lines += [f"- {k}: {v}" for k, v in self.metrics.items()]
        return "\n".join(lines)


class Registry:
    """Checkpoints under ``root`` (default ``checkpoints/``), then the user's own under
    ``personal`` (default ``paths.personal_dir()``; ``pianoplay personalise``), loaded on
    first use. A personal folder named like a shipped checkpoint is not listed."""

    def __init__(self, root: str | Path | None = None, device: str | None = None,
                 personal: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else CHECKPOINTS_DIR
        self.personal = Path(personal) if personal is not None else personal_dir()
        self._device_arg = device
        self._device = None
        if device not in (None, "", "auto"):
            self._device = self._pick(device)  # a bad --device fails now, not at first load
        self._cache: dict[Path, Any] = {}
        self._lock = threading.RLock()  # a prior loads its VAE inside its own load

    @staticmethod
    def _pick(device: str | None):
        from pianoplay.device import pick_device  # imports torch: only when a model is needed

        return pick_device(device)

    @property
    def device(self):
        """The torch device models load on (decided once, on first use)."""
        if self._device is None:
            self._device = self._pick(self._device_arg)
        return self._device

    def list(self, family: str | None = None) -> list[CheckpointInfo]:
        """Every valid checkpoint folder under ``root``, sorted by name, then the personal
        ones (by name) whose names the shipped ones do not take."""
        infos, names = [], set()
        for root in (self.root, self.personal):
            found = []
            for cfg in sorted(root.glob(f"*/{CONFIG}")):
                try:
                    found.append(self._info(cfg.parent))
                except CheckpointError:
                    continue  # incomplete folders are not offered
            infos += [i for i in found if i.name not in names]
            names |= {i.name for i in found}
        return [i for i in infos if family is None or i.family == family]

    def is_personal(self, name: str) -> bool:
        """Whether ``name`` is one of the user's own checkpoints (not a shipped one)."""
        return (not (self.root / name / CONFIG).is_file()
                and (self.personal / name / CONFIG).is_file())

    def forget(self, name_or_path: str | Path) -> None:
        """Drop a loaded model from the cache (a personal checkpoint deleted or remade)."""
        with self._lock:
            for folder in [f for f in self._cache
                           if f.name == Path(name_or_path).name or f == Path(name_or_path)]:
                del self._cache[folder]

    def names(self, family: str | None = None) -> list[str]:
        return [info.name for info in self.list(family)]

    def serving(self, tab: str) -> list[CheckpointInfo]:
        """The checkpoints offered in ``tab``: first choices (``app_roles``) first."""
        infos = [i for i in self.list() if tab in i.tabs]
        return sorted(infos, key=lambda i: not i.first_choice_for(tab))

    def refuse(self, name_or_path: str | Path, tab: str) -> CheckpointInfo:
        """The info of a checkpoint offered in ``tab``, or the one-sentence refusal that the
        app and the CLI both show (a :class:`PianoplayError`)."""
        info = self.info(name_or_path)
        reason = info.refusal(tab)
        if reason:
            others = ", ".join(i.name for i in self.serving(tab) if i.name != info.name)
            raise PianoplayError(
                f"{info.name} is not offered for {tab}: {reason} Use: {others or 'none'}."
            )
        return info

    def info(self, name_or_path: str | Path) -> CheckpointInfo:
        return self._info(self._resolve(name_or_path))

    def load(self, name_or_path: str | Path):
        """The loaded model (its family's ``inference`` class), cached."""
        folder = self._resolve(name_or_path)
        with self._lock:
            if folder not in self._cache:
                info = self._info(folder)
                cls = load_object(info.spec.inference)
                if info.spec.via:  # a model that decodes through another checkpoint
                    via = self.load(self._via(info))
                    extra = {}
                    if info.config.get("over"):  # made over another (a personal palette)
                        extra["over"] = self.load(str(info.config["over"]))
                    self._cache[folder] = cls.from_checkpoint(folder, device=self.device,
                                                              via=via, **extra)
                else:
                    self._cache[folder] = cls.from_checkpoint(folder, device=self.device)
            return self._cache[folder]

    def sampler(self, name_or_path: str | Path) -> str:
        """The checkpoint that samples for ``name_or_path`` in the Sample tab: the prior its
        config names (``"prior"``: vae-faithful samples through prior-faithful), else itself."""
        info = self.info(name_or_path)
        return str(info.config.get("prior") or name_or_path)

    def styles(self, name_or_path: str | Path) -> list[str]:
        """The styles a checkpoint samples in (a prior's, or its own prior's); none for the
        others. Read from config.json, nothing is loaded."""
        info = self.info(self.sampler(name_or_path))
        if info.spec.via is None:
            return []
        return list(info.config.get("model", {}).get("styles", []))

    def check_style(self, name_or_path: str | Path, style) -> str | None:
        """``style`` checked against the checkpoint's styles (None: its first), or None for a
        checkpoint without styles; the refusal the app and the CLI share."""
        styles = self.styles(name_or_path)
        if not styles:
            return None
        if style is None:
            return styles[0]
        if style not in styles:
            raise PianoplayError(f"style must be one of {', '.join(styles)} for "
                                 f"{self.info(name_or_path).name}, not {str(style)!r}.")
        return str(style)

    def _via(self, info: CheckpointInfo) -> str:
        """The checkpoint a model goes through (``config["via"]``), checked to be of the
        family its spec names."""
        name = info.config.get("via")
        if not name:
            raise CheckpointError(f"{info.name}: config.json names no 'via' checkpoint (a "
                                  f"{info.spec.via} model it decodes through).")
        dep = self.info(name)
        if dep.spec.name != info.spec.via:
            raise CheckpointError(f"{info.name} goes through {name}, a {dep.spec.name} model, "
                                  f"not a {info.spec.via} one.")
        return name

    def refuse_strategy(self, name_or_path: str | Path, strategy: str) -> CheckpointInfo:
        """The info of a checkpoint that offers decoding ``strategy``, or the one-sentence
        refusal (the app's and the CLI's, and the library's own)."""
        info = self.info(name_or_path)
        reason = info.strategy_refusal(strategy)
        if reason:
            raise PianoplayError(f"{info.name} does not offer {strategy!r}: {reason}")
        return info

    def _resolve(self, name_or_path: str | Path) -> Path:
        path = Path(name_or_path)
        if path.is_dir():
            return path.resolve()
        for root in (self.root, self.personal):
            folder = root / str(name_or_path)
            if (folder / CONFIG).is_file():
                return folder.resolve()
        known = ", ".join(self.names()) or "none"
        raise CheckpointError(f"unknown checkpoint {str(name_or_path)!r}; available: {known}.")

    @staticmethod
    def _info(folder: Path) -> CheckpointInfo:
        config = read_config(folder)
        spec = family_of(config, str(folder / CONFIG))
        if not (folder / WEIGHTS).is_file():
            raise CheckpointError(
                f"{folder} has no {WEIGHTS}; only safetensors weights are loaded."
            )
        return CheckpointInfo(config.get("name", folder.name), spec, folder, config)
