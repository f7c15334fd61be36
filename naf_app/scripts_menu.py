"""The Scripts menu: one entry per job in scripts/, a small form of its options, and a dock that runs it.

Jobs run as subprocesses (QProcess, `python -u script.py ...`) so a crash or a long training run never
touches the app; their output streams into the dock's log, tqdm counters drive its progress bar, and
Cancel sends SIGTERM (the training loop saves before exiting) then kills after a grace period.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PyQt6.QtCore import QProcess, QProcessEnvironment, QTimer, pyqtSignal
from PyQt6.QtGui import QAction, QFont
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from naf_model.jobs import (
    RESULT_LINE,
    JobOption,
    JobSpec,
    command_line,
    discover_jobs,
    fill_default,
    parse_progress,
)
from naf_model.paths import REPO_ROOT

SCRIPTS_DIR = REPO_ROOT / "scripts"
KILL_GRACE_MS = 3000
"""After Cancel, a job gets this long to save and exit on SIGTERM before it is killed."""


class JobForm(QDialog):
    """A form with one field per job option; `values()` returns them keyed by flag."""

    def __init__(self, spec: JobSpec, context: dict[str, str], parent=None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.setWindowTitle(spec.title)
        layout = QVBoxLayout(self)
        if spec.description:
            about = QLabel(spec.description)
            about.setWordWrap(True)
            layout.addWidget(about)
        form = QFormLayout()
        self.editors: dict[str, QWidget] = {}
        for opt in spec.options:
            editor = _editor(opt, fill_default(opt.default, context))
            editor.setToolTip(opt.help)
            form.addRow(opt.title, editor)
            self.editors[opt.flag] = editor
        layout.addLayout(form)
        ok, cancel = QDialogButtonBox.StandardButton.Ok, QDialogButtonBox.StandardButton.Cancel
        buttons = QDialogButtonBox(ok | cancel)
        buttons.button(ok).setText("Run")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def values(self) -> dict[str, object]:
        out: dict[str, object] = {}
        for flag, editor in self.editors.items():
            if isinstance(editor, QCheckBox):
                out[flag] = editor.isChecked()
            elif isinstance(editor, QSpinBox | QDoubleSpinBox):
                out[flag] = editor.value()
            elif isinstance(editor, QComboBox):
                out[flag] = editor.currentText()
            else:
                out[flag] = editor.text().strip()
        return out


def _editor(opt: JobOption, default: object) -> QWidget:
    if opt.type == "bool":
        box = QCheckBox()
        box.setChecked(bool(default))
        return box
    if opt.type in ("int", "float"):
        spin = QSpinBox() if opt.type == "int" else QDoubleSpinBox()
        if isinstance(spin, QDoubleSpinBox):
            spin.setDecimals(3)
        low = opt.minimum if opt.minimum is not None else 0
        high = opt.maximum if opt.maximum is not None else 10**9
        spin.setRange(type(spin.value())(low), type(spin.value())(high))
        if default is not None:
            spin.setValue(type(spin.value())(default))
        return spin
    if opt.type == "choice":
        combo = QComboBox()
        combo.addItems([str(c) for c in opt.choices])
        if default is not None:
            combo.setCurrentText(str(default))
        return combo
    line = QLineEdit("" if default is None else str(default))
    line.setPlaceholderText("(default)" if opt.type != "scene" else "scene name")
    return line


class JobDock(QDockWidget):
    """Runs one job at a time and shows its log and progress, with Cancel.

    Signals: finished(spec, exit_code, cancelled) when the process ends; produced(kind, path) for each
    `naf-job: <kind> <path>` line a job prints; loadRequested(path) when the user accepts a new checkpoint.
    """

    finished = pyqtSignal(object, int, bool)
    produced = pyqtSignal(str, str)
    loadRequested = pyqtSignal(str)

    def __init__(self, parent=None) -> None:
        super().__init__("Job", parent)
        self.setObjectName("job_dock")
        body = QWidget()
        layout = QVBoxLayout(body)
        row = QHBoxLayout()
        self.title = QLabel("no job")
        self.progress = QProgressBar()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.load_button = QPushButton("Load new checkpoint")
        self.load_button.setVisible(False)
        self.load_button.clicked.connect(self._load_clicked)
        for w in (self.title, self.progress, self.cancel_button, self.load_button):
            row.addWidget(w)
        layout.addLayout(row)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(5000)
        self.log.setFont(QFont("monospace", 9))
        layout.addWidget(self.log)
        self.setWidget(body)
        self.process: QProcess | None = None
        self.spec: JobSpec | None = None
        self.results: list[tuple[str, str]] = []
        self._cancelled = False
        self._partial = ""
        self._new_checkpoint = ""

    def running(self) -> bool:
        return self.process is not None

    def start(self, spec: JobSpec, values: dict[str, object]) -> bool:
        """Run `spec` with these option values; False (and a log line) if a job is already running."""
        if self.process is not None:
            self.log.appendPlainText(f"'{self.spec.title}' is still running; cancel it before starting "
                                     "another")
            return False
        self.spec, self.results, self._cancelled, self._partial = spec, [], False, ""
        self.load_button.setVisible(False)
        args = ["-u", str(spec.script), *command_line(spec, values)]
        process = QProcess(self)
        process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        env.insert("TQDM_MININTERVAL", "0.2")
        process.setProcessEnvironment(env)
        process.setWorkingDirectory(str(REPO_ROOT))
        process.readyReadStandardOutput.connect(self._read)
        process.finished.connect(self._finished)
        process.errorOccurred.connect(self._error)
        self.process = process
        self.title.setText(spec.title)
        self.progress.setRange(0, 0)
        self.cancel_button.setEnabled(True)
        self.log.appendPlainText(f"$ {Path(sys.executable).name} {' '.join(args[1:])}")
        self.show()
        process.start(sys.executable, args)
        return True

    def cancel(self) -> None:
        """Ask the job to stop (SIGTERM), kill it if it has not exited after KILL_GRACE_MS."""
        process = self.process
        if process is None:
            return
        self._cancelled = True
        self.log.appendPlainText("cancelling...")
        process.terminate()
        QTimer.singleShot(KILL_GRACE_MS, lambda: self._kill_if_running(process))

    def _kill_if_running(self, process: QProcess) -> None:
        if self.process is process and process.state() != QProcess.ProcessState.NotRunning:
            process.kill()

    def stop_now(self) -> None:
        """Kill a running job and wait for it (window closing)."""
        if self.process is not None:
            self._cancelled = True
            self.process.kill()
            self.process.waitForFinished(5000)

    def _read(self) -> None:
        text = self._partial + bytes(self.process.readAllStandardOutput()).decode("utf-8", "replace")
        pieces = text.replace("\r\n", "\n").split("\n")
        self._partial = pieces.pop()
        counter = parse_progress(text)
        if counter is not None and counter[1] > 0:
            self.progress.setRange(0, counter[1])
            self.progress.setValue(counter[0])
        for piece in pieces:
            line = piece.split("\r")[-1].rstrip()
            match = RESULT_LINE.match(line)
            if match and match.group(1) != "progress":
                self.results.append((match.group(1), match.group(2)))
                self.produced.emit(match.group(1), match.group(2))
            if line:
                self.log.appendPlainText(line)

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.log.appendPlainText(f"could not start {sys.executable}: {self.process.errorString()}")
            self._finished(-1, QProcess.ExitStatus.CrashExit)

    def _finished(self, code: int, status: QProcess.ExitStatus) -> None:
        process, spec = self.process, self.spec
        if process is None:
            return
        if process.bytesAvailable():
            self._read()
        if self._partial.strip():
            self.log.appendPlainText(self._partial.split("\r")[-1].rstrip())
        self._partial = ""
        crashed = status == QProcess.ExitStatus.CrashExit
        exit_code = -1 if crashed and not self._cancelled else int(code)
        verdict = "finished" if exit_code == 0 else f"failed ({exit_code})"
        verdict = "cancelled" if self._cancelled else verdict
        self.log.appendPlainText(f"{spec.title}: {verdict}")
        self.title.setText(f"{spec.title}: {verdict}")
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if exit_code == 0 and not self._cancelled else 0)
        self.cancel_button.setEnabled(False)
        self.process = None
        process.deleteLater()
        checkpoints = [path for kind, path in self.results if kind == "checkpoint"]
        if checkpoints and exit_code == 0 and not self._cancelled:
            self._new_checkpoint = checkpoints[-1]
            self.load_button.setVisible(True)
            self.log.appendPlainText(f"new checkpoint {self._new_checkpoint}: press 'Load new checkpoint'")
        self.finished.emit(spec, exit_code, self._cancelled)

    def _load_clicked(self) -> None:
        self.load_button.setVisible(False)
        self.loadRequested.emit(self._new_checkpoint)


class ScriptsMenu(QMenu):
    """Lists the job scripts; choosing one opens its form, and Run hands it to the JobDock."""

    def __init__(self, dock: JobDock, context, scripts_dir: Path = SCRIPTS_DIR, parent=None) -> None:
        super().__init__("&Scripts", parent)
        self.dock = dock
        self.context = context  # callable -> {"scene": ..., "checkpoint": ...}
        self.specs: list[JobSpec] = []
        self.form: JobForm | None = None
        try:
            self.specs = discover_jobs(scripts_dir)
        except (OSError, SyntaxError, ValueError) as exc:
            self.addAction(f"cannot read the job scripts: {exc}").setEnabled(False)
        for spec in self.specs:
            action = QAction(f"{spec.title}...", self)
            action.setToolTip(spec.description)
            action.triggered.connect(lambda _=False, s=spec: self.open_form(s))
            self.addAction(action)
        if not self.specs and not self.actions():
            self.addAction(f"no job scripts in {scripts_dir}").setEnabled(False)

    def spec(self, script_name: str) -> JobSpec:
        """The job whose script file is `script_name` (e.g. "train.py")."""
        return next(s for s in self.specs if s.script.name == script_name)

    def open_form(self, spec: JobSpec) -> JobForm:
        """Show the job's form (window-modal, non-blocking); Run starts the job in the dock."""
        form = JobForm(spec, self.context(), self.parentWidget())
        form.accepted.connect(lambda: self.dock.start(spec, form.values()))
        form.open()
        self.form = form
        return form

