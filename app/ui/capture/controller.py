"""Screenshots and recordings from the Qt side: which screen, hiding our own windows, the region overlays, the
recording bar; the pixels are read and written on worker threads so the Qt thread never waits.

Every result is a file path: ``captured`` for a PNG or an MP4 (the main window attaches it and focuses the
question box), ``failed`` with a message that says what to do, ``notice`` for things worth telling, and
``waiting`` when the desktop is slow to answer a portal request (on Wayland it may be asking the person in a
dialog; the capture stays under way and nothing freezes). Whoever asked for a capture can also pass ``done``,
which hears once how that capture ended (the command channel reports it back to `glmv capture`).

A capture is one state (``busy``, the windows hidden for it, its overlays or recording) with one way out,
``_end``: every step that runs on the Qt thread is guarded, so an exception anywhere ends the capture, shows our
windows again, logs the traceback and says so, instead of leaving the app hidden or "busy" for good.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

from PySide6.QtCore import QObject, QRect, QTimer, Signal, Slot
from PySide6.QtGui import QCursor, QGuiApplication
from PySide6.QtWidgets import QApplication, QWidget

from app.core import logs
from app.core.capture import screenshotters as handlers_module
from app.core.capture.active_window import active_window_rect
from app.core.capture.commands import CaptureOutcome
from app.core.capture.geometry import (
    Rect,
    Screen,
    SelectionF,
    device_to_logical,
    logical_bounds,
    overlaps_any,
    screen_for_selection,
    selection_to_device,
    virtual_bounds,
)
from app.core.capture.portal import CaptureCancelled, PortalScreenshotter, ScreenCastSource
from app.core.capture.recorder import Recorder, RecordingReport, RecordingSession
from app.core.capture.screenshotters import CaptureError, MssScreenshotter, Screenshotter, Shot
from app.ui.capture.overlay import CAPTURE_UI_PROPERTY, RegionSelector
from app.ui.capture.qtscreens import all_screens, qimage_of, qrect_of, rect_of, with_capture_size
from app.ui.capture.recording_ui import RecorderBar, RegionBorder, exclude_from_capture, place_outside
from app.ui.handover import Handover

log = logging.getLogger(__name__)

MAX_HIDE_DELAY_MS = 100
DEFAULT_HIDE_DELAY_MS = 50

Done = Callable[[CaptureOutcome], None]
F = TypeVar("F", bound=Callable[..., Any])


def default_folder() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("glmv-desktop", appauthor=False)) / "captures"


def own_windows() -> list[QWidget]:
    """The app's visible top-level windows, not counting the capture's own overlays and bars."""
    return [
        w
        for w in QApplication.topLevelWidgets()
        if w.isWindow() and w.isVisible() and not w.property(CAPTURE_UI_PROPERTY)
    ]


def _stamp() -> str:
    now = time.time()
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(now)) + f"-{int(now * 1000) % 1000:03d}"


def unexpected(error: BaseException) -> str:
    """The message for a capture that failed in a way nobody planned for."""
    return (
        f"The capture failed unexpectedly ({type(error).__name__}: {error}). Try again; if it keeps failing, "
        f"the log has the details: {logs.log_folder() / logs.FILE_NAME}"
    )


def guarded(method: F) -> F:
    """A step of a capture that runs on the Qt thread: an exception in it ends the capture as failed."""

    @functools.wraps(method)
    def wrapper(self: CaptureController, *args: Any, **kwargs: Any) -> Any:
        return self._guarded_call(method, self, *args, **kwargs)

    return cast(F, wrapper)


class CaptureController(QObject):
    captured = Signal(str)
    failed = Signal(str)
    notice = Signal(str)
    waiting = Signal(str)
    recording_changed = Signal(bool)

    def __init__(
        self,
        folder: Path | None = None,
        handlers: list[Screenshotter] | None = None,
        windows: Callable[[], list[QWidget]] = own_windows,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.folder = Path(folder) if folder is not None else default_folder()
        self.handlers = handlers
        self.windows = windows
        self.fps = 10
        self.max_seconds = 60.0
        self.hide_delay_ms = DEFAULT_HIDE_DELAY_MS
        self.record_region = True
        self.all_screens = False
        self.encoder = "auto"
        self.selector: RegionSelector | None = None
        self.session: RecordingSession | None = None
        self.last_report: RecordingReport | None = None
        self._screenshotter: Screenshotter | None = None
        self._busy = False
        self._selecting_for_recording = False
        self.waiting_for = ""  # what the desktop is being waited for, while it is
        self._screencast: ScreenCastSource | None = None
        self._waiters: list[Done] = []
        self._hidden: list[QWidget] = []
        self._bar: RecorderBar | None = None
        self._border: RegionBorder | None = None
        self._ticker = QTimer(self)
        self._ticker.setInterval(250)
        self._ticker.timeout.connect(self._tick)
        self._handover = Handover(self)

    # ----- public slots -----

    @property
    def busy(self) -> bool:
        return self._busy

    @property
    def recording(self) -> bool:
        return self.session is not None

    def run(self, action: str, done: Done | None = None) -> None:
        """The capture a hotkey action or `glmv capture` command names (``capture_full``, ``capture_region``,
        ``capture_window``, ``record``); ``done`` hears how it ended."""
        starts: dict[str, Callable[[Done | None], None]] = {
            "capture_full": self.full_screen,
            "capture_region": self.region,
            "capture_window": self.active_window,
            "record": self.toggle_recording,
        }
        starts[action](done)

    @Slot()
    @guarded
    def full_screen(self, done: Done | None = None) -> None:
        """The screen under the cursor, or every screen when ``all_screens`` is set."""
        if not self._begin(done):
            return
        screens = [info for _, info in all_screens()]
        if not self.all_screens:
            under = QGuiApplication.screenAt(QCursor.pos()) or QGuiApplication.primaryScreen()
            screens = [info for q, info in all_screens() if q is under] or screens[:1]
        rect = virtual_bounds(s.native for s in screens)
        self._after_hiding([s.geometry for s in screens], self._step(self._grab_and_save, rect, "screenshot"))

    @Slot()
    @guarded
    def region(self, done: Done | None = None) -> None:
        if self._begin(done):
            self._select(self._save_selection)

    @Slot()
    @guarded
    def active_window(self, done: Done | None = None) -> None:
        if not self._begin(done):
            return
        try:
            rect = active_window_rect().intersection(self._desktop())
        except CaptureError as e:
            self._fail(str(e))
            return
        if rect.empty:
            self._fail("The active window is off screen; move it onto a screen and try again.")
            return
        ours = QApplication.activeWindow() is not None
        targets = [] if ours else [self._logical(rect)]
        self._after_hiding(targets, self._step(self._grab_and_save, rect, "window"))

    @Slot()
    @guarded
    def toggle_recording(self, done: Done | None = None) -> None:
        """Start a recording, or stop the one running. Asked again while the area to record is being selected,
        it records the whole screen under the cursor (as Enter does)."""
        if self.session is not None:
            self.stop_recording(done)
        elif self._screencast is not None:
            if done is not None:
                self._waiters.append(done)
            self._screencast.cast.cancel_wait()
        elif self.selector is not None and self._selecting_for_recording:
            if done is not None:
                self._waiters.append(done)
            self.selector.accept_screen_under_cursor()
        elif self.record_region:
            self.record_selection(done)
        else:
            self.record_screen(done)

    @Slot()
    @guarded
    def record_screen(self, done: Done | None = None) -> None:
        if self.session is not None or not self._begin(done):
            return
        under = QGuiApplication.screenAt(QCursor.pos()) or QGuiApplication.primaryScreen()
        info = next(info for q, info in all_screens() if q is under)
        self._after_hiding([info.geometry], self._step(self._start_recording, info.native, info))

    @Slot()
    @guarded
    def record_selection(self, done: Done | None = None) -> None:
        if self.session is None and self._begin(done):
            self._selecting_for_recording = True
            self._select(lambda info, selection, shot: self._start_recording(self._virtual(info, selection), info))

    @Slot()
    def stop_recording(self, done: Done | None = None) -> None:
        if self.session is not None:
            if done is not None:
                self._waiters.append(done)
            self.session.stop()
        elif done is not None:
            done(CaptureOutcome("failed", "No recording is running."))

    @Slot()
    def cancel_recording(self) -> None:
        if self.session is not None:
            self.session.cancel()

    # ----- plumbing -----

    def prepare(self) -> None:
        """Import the capture libraries on a worker now, so the first hotkey does not pay ~300 ms for them; on
        Wayland also wake the desktop portal, which the bus starts on first use (a second, or more), so that
        the first capture's question to it, asked on the Qt thread, is answered at once."""

        def load() -> None:
            import mss  # noqa: F401
            import numpy  # noqa: F401
            from PIL import Image, PngImagePlugin  # noqa: F401

            if handlers_module.is_wayland():
                from app.core.capture.portal import SCREENSHOT, portal_problem

                portal_problem(SCREENSHOT)

        threading.Thread(target=load, name="capture-prepare", daemon=True).start()

    def screenshotter(self) -> Screenshotter:
        if self._screenshotter is None:
            self._screenshotter = handlers_module.pick(self.handlers)
            if isinstance(self._screenshotter, PortalScreenshotter):
                self._screenshotter.on_wait = self._waiting_on_desktop
        return self._screenshotter

    def _waiting_on_desktop(self, message: str) -> None:
        """From a worker: the desktop has not answered yet (it may be showing a dialog)."""
        self._handover.post(self._say_waiting, message)

    def _say_waiting(self, message: str) -> None:
        if self._busy:
            self.waiting_for = message
            self.waiting.emit(message)

    def _begin(self, done: Done | None) -> bool:
        if self._busy:
            message = "A capture is already in progress; finish or cancel it (Esc) first."
            if self.waiting_for:
                message = f"A capture is already in progress. {self.waiting_for}"
            self.notice.emit(message)
            if done is not None:
                done(CaptureOutcome("busy", message))
            return False
        try:
            self.screenshotter()
        except CaptureError as e:
            self.failed.emit(str(e))
            if done is not None:
                done(CaptureOutcome("failed", str(e)))
            return False
        self._busy = True
        if done is not None:
            self._waiters.append(done)
        return True

    def _end(self, outcome: CaptureOutcome) -> None:
        """The one way out of a capture: overlays and recording controls gone, our windows back, not busy, the
        outcome announced and every waiter told."""
        self._close_capture_ui()
        self._restore()
        self._busy = False
        self._selecting_for_recording = False
        self.waiting_for = ""
        if self._screencast is not None:  # still asking the desktop: it need not wait for an answer any more
            self._screencast.cast.cancel_wait()
            self._screencast = None
        if outcome.status == "captured":
            self.captured.emit(outcome.detail)
        elif outcome.status == "failed":
            self.failed.emit(outcome.detail)
        elif outcome.status == "cancelled" and outcome.detail:
            self.notice.emit(outcome.detail)
        self._tell(outcome)

    def _tell(self, outcome: CaptureOutcome) -> None:
        waiters, self._waiters = self._waiters, []
        for done in waiters:
            try:
                done(outcome)
            except Exception:
                log.exception("a capture's caller failed to take its outcome")

    def _fail(self, message: str) -> None:
        self._end(CaptureOutcome("failed", message))

    def _abort(self, message: str) -> None:
        """An unplanned failure: whatever was running for this capture stops, and it ends as failed."""
        if self.session is not None:
            session, self.session = self.session, None
            session.on_end = None
            session.cancel()
            self._ticker.stop()
            self.recording_changed.emit(False)
        self._fail(message)

    def _close_capture_ui(self) -> None:
        if self.selector is not None:
            selector, self.selector = self.selector, None
            selector.close()
        if self._bar is not None:
            self._bar.close()
            self._bar.deleteLater()
            self._bar = None
        if self._border is not None:
            self._border.close()
            self._border = None

    def _step(self, fn: Callable[..., object], *args: Any) -> Callable[[], None]:
        """``fn(*args)`` as a later step of the current capture (a timer's or a worker's), guarded alike."""

        def step() -> None:
            self._guarded_call(fn, *args)

        return step

    def _guarded_call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            log.exception("capture failed in %s", getattr(fn, "__name__", "a step"))
            self._abort(unexpected(e))
            return None

    def _in_background(self, work: Callable[[], Any], done: Callable[[Any], None]) -> None:
        def target() -> None:
            try:
                value = work()
            except CaptureCancelled as e:
                self._handover.post(self._end, CaptureOutcome("cancelled", str(e)))
            except CaptureError as e:
                self._handover.post(self._fail, str(e))
            except Exception as e:
                log.exception("capture failed")
                self._handover.post(self._fail, unexpected(e))
            else:
                self._handover.post(self._step(done, value))

        threading.Thread(target=target, name="capture", daemon=True).start()

    def _desktop(self) -> Rect:
        return virtual_bounds(info.native for _, info in all_screens())

    def _logical(self, rect: Rect) -> Rect:
        infos = [info for _, info in all_screens()]
        as_if_logical = SelectionF(rect.x, rect.y, rect.width, rect.height)
        screen = screen_for_selection(infos, as_if_logical) or infos[0]
        return logical_bounds(device_to_logical(rect, screen))

    def _after_hiding(self, targets: list[Rect], then: Callable[[], None]) -> None:
        """Hide our windows that cover the targets, then go once the screen under them has been drawn again (X11
        Damage reports say when; at most 100 ms), or after ``hide_delay_ms`` where that cannot be known; windows
        elsewhere stay put, and when none hides there is no wait at all."""
        from app.ui.capture.repaint import hide_then

        self._hidden = [w for w in self.windows() if overlaps_any(rect_of(w.frameGeometry()), targets)]
        if not self._hidden:
            then()
            return
        blind = min(self.hide_delay_ms, MAX_HIDE_DELAY_MS)
        hide_then(self._hidden, targets, then, blind_ms=blind, max_ms=MAX_HIDE_DELAY_MS, parent=self)

    def _restore(self, keep_hidden_over: Rect | None = None) -> None:
        """Show the windows hidden for this capture again, except those over ``keep_hidden_over`` (logical):
        a recording keeps out of its own video the windows that would cover it."""
        still_hidden = []
        for w in self._hidden:
            if keep_hidden_over is not None and overlaps_any(rect_of(w.frameGeometry()), [keep_hidden_over]):
                still_hidden.append(w)
            else:
                w.show()
        self._hidden = still_hidden

    def _grab_and_save(self, rect: Rect, prefix: str) -> None:
        shooter, desktop = self.screenshotter(), self._desktop()
        path = self.folder / f"{prefix}-{_stamp()}.png"
        screens = [info for _, info in all_screens()]
        self._in_background(lambda: shooter.grab(rect, desktop).save_png(path, screens=screens), self._saved)

    def _saved(self, path: Path) -> None:
        self._end(CaptureOutcome("captured", str(path)))

    def _select(self, on_selected: Callable[[Screen, SelectionF, Shot], None]) -> None:
        """Freeze every screen, then let the person select on the frozen images."""
        screens = all_screens()
        shooter, desktop = self.screenshotter(), self._desktop()
        recording = self._selecting_for_recording

        def grab_all() -> list[Shot]:
            if isinstance(shooter, MssScreenshotter):
                return [shooter.grab(info.native, desktop) for _, info in screens]
            whole = shooter.grab(desktop, desktop)  # one portal request (and at most one dialog), not one per screen
            return [whole.crop(info.native) for _, info in screens]

        def show(shots: list[Shot]) -> None:
            entries = []
            frozen: dict[str, Shot] = {}
            for (q, info), shot in zip(screens, shots, strict=True):
                sized = with_capture_size(info, shot)
                frozen[sized.name] = shot
                entries.append((q, sized, qimage_of(shot, shot.pixels.shape[1] / info.geometry.width)))
            hint = "the area to record" if recording else "the area to capture"
            self.selector = RegionSelector(entries, self, hint=hint)
            self.selector.selected.connect(lambda info, sel: self._selected(on_selected, info, sel, frozen[info.name]))
            self.selector.cancelled.connect(self._selection_cancelled)
            self.selector.show()

        self._after_hiding([info.geometry for _, info in screens], self._step(self._in_background, grab_all, show))

    @guarded
    def _selected(
        self, on_selected: Callable[[Screen, SelectionF, Shot], None], info: Screen, selection: SelectionF, shot: Shot
    ) -> None:
        self.selector = None
        on_selected(info, selection, shot)

    @guarded
    def _selection_cancelled(self) -> None:
        self.selector = None
        self._end(CaptureOutcome("cancelled", ""))

    def _save_selection(self, info: Screen, selection: SelectionF, shot: Shot) -> None:
        device = selection_to_device(selection, info)
        if device.empty:
            self._fail("The selected region is empty; drag across the area to capture.")
            return
        part = Shot(shot.pixels[device.y : device.bottom, device.x : device.right], self._virtual(info, selection))
        path = self.folder / f"region-{_stamp()}.png"
        screens = [screen for _, screen in all_screens()]
        self._in_background(lambda: part.save_png(path, screens=screens), self._saved)

    @staticmethod
    def _virtual(info: Screen, selection: SelectionF) -> Rect:
        return selection_to_device(selection, info).translated(info.native.x, info.native.y)

    # ----- recording -----

    def _start_recording(self, rect: Rect, info: Screen) -> None:
        """Record ``rect`` (device pixels); our windows over it stay hidden until the recording ends."""
        self._selecting_for_recording = False
        region = logical_bounds(device_to_logical(rect, info))
        self._restore(keep_hidden_over=region)
        shooter = self.screenshotter()
        if isinstance(shooter, MssScreenshotter):
            desktop = self._desktop()
            self._record(rect, region, lambda: shooter.grab(rect, desktop).pixels)
        elif isinstance(shooter, PortalScreenshotter):
            # The ScreenCast portal: the desktop may ask which screen to share first, so it opens on a worker.
            source = ScreenCastSource(rect, [s for _, s in all_screens()], fps=self.fps)
            source.cast.on_wait = self._waiting_on_desktop
            self._screencast = source
            self._in_background(source.open, lambda opened: self._screencast_opened(opened, region))
        else:
            self._fail(
                f"Recording needs direct screen access or the desktop's ScreenCast portal, and {shooter.name} "
                "gives neither."
            )

    def _screencast_opened(self, source: ScreenCastSource, region: Rect) -> None:
        if source is not self._screencast:  # the capture ended some other way meanwhile
            source.close()
            return
        self._record(source.rect, region, source.grab, source.close)

    def _record(
        self,
        rect: Rect,
        region: Rect,
        grab: Callable[[], Any],
        close: Callable[[], None] = lambda: None,
    ) -> None:
        """Record ``rect`` (device pixels; ``region`` is it in logical ones) from ``grab``'s frames; ``close``
        releases the source once the recording has ended."""
        self._screencast = None
        self.waiting_for = ""
        path = self.folder / f"recording-{_stamp()}.mp4"
        try:
            recorder = Recorder(
                path, (rect.width, rect.height), fps=self.fps, max_seconds=self.max_seconds, encoder=self.encoder
            )
        except CaptureError as e:
            close()
            self._fail(str(e))
            return

        def ended(result: RecordingReport | BaseException | None) -> None:
            close()
            self._handover.post(self._step(self._recording_ended, session, result))

        session = RecordingSession(grab, recorder, ended)
        self.session = session
        session.start()
        self._ticker.start()
        self.recording_changed.emit(True)
        self._tell(CaptureOutcome("started", str(path)))
        self._show_recording_ui(region)

    def _show_recording_ui(self, region_logical: Rect) -> None:
        if QGuiApplication.platformName().startswith("wayland"):
            # Windows cannot place themselves on Wayland: a border or a bar would land wherever the compositor
            # puts them (tiled over the screen, on sway), and in the video.
            self.notice.emit(
                "Recording. Stop it with the recording shortcut (`glmv capture --record`) or the tray icon."
            )
            return
        region = qrect_of(region_logical)
        screens = [qrect_of(i.geometry) for _, i in all_screens()]
        self._border = RegionBorder(region)
        self._border.show(screens)
        bar = RecorderBar()
        bar.stop_requested.connect(self.stop_recording)
        bar.cancel_requested.connect(self.cancel_recording)
        bar.set_time(0, self.max_seconds)
        bar.adjustSize()
        place = place_outside((bar.width(), bar.height()), region, screens)
        if place is None and exclude_from_capture(bar):
            place = QRect(region.right() - bar.width() - 20, region.bottom() - bar.height() - 40, 0, 0)
        if place is None:
            bar.deleteLater()
            self.notice.emit(
                "The recording fills the screen, so its controls stay hidden to keep them out of the video. "
                "Stop it with the recording hotkey, the tray icon or `glmv capture --record`."
            )
            return
        bar.move(place.topLeft())
        bar.show()
        self._bar = bar

    def _tick(self) -> None:
        if self._bar is not None and self.session is not None:
            self._bar.set_time(self.session.elapsed_s, self.max_seconds)

    def _recording_ended(self, session: RecordingSession, result: RecordingReport | BaseException | None) -> None:
        if session is not self.session:
            return  # a session already given up (it failed on the Qt thread) ending late
        self._ticker.stop()
        session.join(5)
        self.session = None
        self.recording_changed.emit(False)
        if isinstance(result, RecordingReport):
            self.last_report = result
            if result.full:
                self.notice.emit(f"The recording reached its maximum length ({self.max_seconds:g} s) and stopped.")
            elif session.ended_by:
                self.notice.emit(session.ended_by)
            self._end(CaptureOutcome("captured", str(result.path)))
        elif isinstance(result, BaseException):
            if not isinstance(result, CaptureError):
                log.error("recording failed", exc_info=result)
            message = str(result) if isinstance(result, CaptureError) else f"The recording failed: {result}"
            self._end(CaptureOutcome("failed", message))
        else:
            self._end(CaptureOutcome("cancelled", "Recording cancelled; nothing was saved."))
