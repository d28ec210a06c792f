"""The exercises: what to implement, the inputs they are checked on, hints, and mistake diagnosers.

Each exercise runs the learner's code on a few cases and compares with the reference in
``solutions.py`` (the one home of every answer).  ``diagnose`` functions recognise common mistakes
from the wrong output and turn them into a hint for that mistake; ``hints`` are the progressive
hints of ``ex.hint(name)``.
"""
from . import nb02, nb03, nb04, nb05, nb06, nb07, nb08, nb09, nb10, nb11
from .base import Exercise

# in course order: the order of ``ex.list()`` and ``ex.progress()``
NOTEBOOKS = (nb02, nb03, nb04, nb05, nb06, nb07, nb08, nb09, nb10, nb11)
EXERCISES = {e.name: e for nb in NOTEBOOKS for e in nb.EXERCISES}
