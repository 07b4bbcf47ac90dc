"""Pictures of episodes for ``render_mode="rgb_array"``: the context and the tokens written so far.

A frame is drawn from the observation alone (context, tokens, position), so it can show neither y* nor,
under the outcome reward, whether a token was right: two tasks with different teachers give the same
frame for the same context and tokens.

Layout, top to bottom: the context, one cell per coordinate, coloured by sign and size (blue negative,
white zero, red positive, relative to the task's context bound); a black separator; the tokens, one
cell per position, a written token in its own colour (hues spread by the golden ratio, so neighbouring
ids differ), a position not yet written in dark grey. Cells wrap at ``FRAME_COLUMNS`` to a line and are
square, sized so that a frame is about ``FRAME_WIDTH`` pixels wide; every side is even, as video
encoders want.
"""

from __future__ import annotations

import numpy as np

from seqreward_env.task import SequenceTask

FRAME_COLUMNS = 64
FRAME_WIDTH = 512
MAX_CELL = 16
SEPARATOR_PIXELS = 2
UNWRITTEN = np.array([48, 48, 48], dtype=np.uint8)
BACKGROUND = np.array([0, 0, 0], dtype=np.uint8)
GOLDEN_RATIO_CONJUGATE = 0.6180339887498949


def frame_shape(task: SequenceTask) -> tuple[int, int, int]:
    """The ``(height, width, 3)`` of the task's frames."""
    columns, cell, context_lines, token_lines = _geometry(task)
    return ((context_lines + token_lines) * cell + SEPARATOR_PIXELS, columns * cell, 3)


def render_frames(task: SequenceTask, contexts: np.ndarray, tokens: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Frames of ``n`` episodes: ``(n, height, width, 3)`` uint8.

    Args:
        contexts: ``(n, d)`` the episodes' contexts.
        tokens: ``(n, N)`` tokens written (entries at or past the position are ignored).
        positions: ``(n,)`` number of tokens written.
    """
    columns, cell, context_lines, token_lines = _geometry(task)
    n = len(contexts)
    context_cells = _fill_lines(_context_colours(task, contexts), context_lines, columns)
    colours = token_colours(tokens)
    written = np.arange(task.seq_len)[None, :] < np.asarray(positions)[:, None]
    colours[~written] = UNWRITTEN
    token_cells = _fill_lines(colours, token_lines, columns)
    separator = np.broadcast_to(BACKGROUND, (n, SEPARATOR_PIXELS, columns * cell, 3))
    return np.concatenate([_enlarge(context_cells, cell), separator, _enlarge(token_cells, cell)], axis=1)


def token_colours(tokens: np.ndarray) -> np.ndarray:
    """Each token id's colour: ``(..., 3)`` uint8, hue ``(id * 0.618...) mod 1``, saturation 0.8, value 0.95."""
    hue = (np.asarray(tokens, dtype=np.float64) * GOLDEN_RATIO_CONJUGATE) % 1.0
    return _hsv_to_rgb(hue, 0.8, 0.95)


def _geometry(task: SequenceTask) -> tuple[int, int, int, int]:
    """Cells per line, cell side in pixels (even), lines of context, lines of tokens."""
    columns = min(FRAME_COLUMNS, max(task.context_dim, task.seq_len))
    cell = max(2, min(MAX_CELL, FRAME_WIDTH // columns) // 2 * 2)
    return columns, cell, -(-task.context_dim // columns), -(-task.seq_len // columns)


def _context_colours(task: SequenceTask, contexts: np.ndarray) -> np.ndarray:
    """``(n, d, 3)`` uint8: white at 0, towards red for positive and blue for negative coordinates."""
    v = np.clip(np.asarray(contexts, dtype=np.float64) / task.context_bound, -1.0, 1.0)
    fade = 255.0 * (1.0 - np.abs(v))
    full = np.full_like(v, 255.0)
    rgb = np.stack([np.where(v >= 0, full, fade), fade, np.where(v <= 0, full, fade)], axis=-1)
    return np.rint(rgb).astype(np.uint8)


def _fill_lines(cells: np.ndarray, lines: int, columns: int) -> np.ndarray:
    """Wrap ``(n, m, 3)`` cells into ``(n, lines, columns, 3)``, padding the last line with the background."""
    n, m = cells.shape[:2]
    padded = np.broadcast_to(BACKGROUND, (n, lines * columns, 3)).copy()
    padded[:, :m] = cells
    return padded.reshape(n, lines, columns, 3)


def _enlarge(cells: np.ndarray, cell: int) -> np.ndarray:
    """``(n, lines, columns, 3)`` cells to ``(n, lines * cell, columns * cell, 3)`` pixels."""
    return np.repeat(np.repeat(cells, cell, axis=1), cell, axis=2)


def _hsv_to_rgb(hue: np.ndarray, saturation: float, value: float) -> np.ndarray:
    """HSV to RGB for an array of hues in [0, 1) at one saturation and value: ``hue.shape + (3,)`` uint8."""
    sector = np.floor(hue * 6.0)
    fraction = hue * 6.0 - sector
    p = value * (1.0 - saturation)
    q = value * (1.0 - saturation * fraction)
    t = value * (1.0 - saturation * (1.0 - fraction))
    v = np.full_like(hue, value)
    p_array = np.full_like(hue, p)
    # Sector i of the colour wheel takes its (r, g, b) from these rows.
    choices = [(v, t, p_array), (q, v, p_array), (p_array, v, t), (p_array, q, v), (t, p_array, v), (v, p_array, q)]
    index = sector.astype(np.int64) % 6
    rgb = np.stack([np.choose(index, [choice[channel] for choice in choices]) for channel in range(3)], axis=-1)
    return np.rint(255.0 * rgb).astype(np.uint8)
