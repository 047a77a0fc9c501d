"""Deterministic randomness: every random value is a pure function of the meter's seed, a stream and time.

A stream key is mixed from integers with SplitMix64 (Steele, Lea, Flood 2014, the seeding generator of
java.util.SplittableRandom): Python's `hash()` is salted per process for text and would break
reproducibility. Normal variates come from Box-Muller over `Random.random()`, whose sequence Python
promises to keep across versions (`random.gauss` carries no such promise).
"""

from __future__ import annotations

import math
import random
from enum import IntEnum

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_TWO_PI = 2.0 * math.pi


class Stream(IntEnum):
    """Independent random streams of one meter, so adding a feature never shifts another one's values."""

    METER = 1  # per-meter constants: voltage offset, phase shares, PV size, start registers
    LOAD = 2  # a day's consumption noise and power factor
    SOLAR = 3  # a day's cloudiness
    GRID = 4  # a day's outages, sags, swells and tamper episodes
    VOLTAGE = 5  # interval voltage noise
    INSTANT = 6  # second-by-second jitter of instantaneous values
    FREQUENCY = 7  # grid frequency: shared by every meter, keyed by time only


def _finalise(value: int) -> int:
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK
    return value ^ (value >> 31)


def mix(*parts: int) -> int:
    """A 64-bit key from integers; order matters and any change to a part changes the key."""
    state = 0
    for part in parts:
        state = _finalise((state + _GOLDEN + (part & _MASK)) & _MASK)
    return state


def indexed(key: int, index: int) -> int:
    """64 random bits for item `index` of a stream whose key is `key` (one SplitMix64 step: cheap)."""
    return _finalise((key + (index + 1) * _GOLDEN) & _MASK)


def unit(*parts: int) -> float:
    """A uniform value in [0, 1) keyed by the parts."""
    return (mix(*parts) >> 11) * (1.0 / (1 << 53))


def symmetric(*parts: int) -> float:
    """A triangular value in (-1, 1), mean 0, keyed by the parts (two 32-bit halves of one key summed)."""
    key = mix(*parts)
    return ((key >> 32) + (key & 0xFFFFFFFF)) * (1.0 / (1 << 32)) - 1.0


def generator(*parts: int) -> random.Random:
    """A Mersenne Twister seeded with the key of the parts, for drawing a whole day's values at once."""
    return random.Random(mix(*parts))


def normals(source: random.Random, count: int) -> list[float]:
    """`count` standard normal variates (Box-Muller, two per pair of uniforms)."""
    values: list[float] = []
    draw = source.random
    while len(values) < count:
        radius = math.sqrt(-2.0 * math.log(1.0 - draw()))
        angle = _TWO_PI * draw()
        values.append(radius * math.cos(angle))
        values.append(radius * math.sin(angle))
    del values[count:]
    return values


def normal(source: random.Random) -> float:
    """One standard normal variate."""
    return normals(source, 1)[0]


def poisson(source: random.Random, mean: float) -> int:
    """A Poisson count (Knuth's product method; the means used here are well below 1)."""
    limit = math.exp(-mean)
    count = 0
    product = source.random()
    while product > limit:
        count += 1
        product *= source.random()
    return count
