"""magenta/ddsp's `synthetic_data` path; the code is data_prep.synthetic_data.

This module only re-exports the synthetic-notes generators and their random
helpers, so code written for the original imports.
"""

# pylint: disable=unused-import
from data_prep.synthetic_data import flip
from data_prep.synthetic_data import generate_notes
from data_prep.synthetic_data import generate_notes_v2
from data_prep.synthetic_data import modulate
from data_prep.synthetic_data import normal_generator
from data_prep.synthetic_data import random_blend
from data_prep.synthetic_data import random_harm_dist
from data_prep.synthetic_data import uniform_float
from data_prep.synthetic_data import uniform_generator
from data_prep.synthetic_data import uniform_int
