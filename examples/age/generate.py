"""Synthetic professional profiles for the "predict a person's age" example.

Each output line is one JSON object shaped like a scraped professional-network
profile (think of a LinkedIn export): ``id``, ``full_name``, ``headline``,
``emails``, ``location``, ``industry``, ``company_size``, ``job_level``,
``connection_count``, ``skills``, ``work_experience``, ``education``,
``profile_updated_at`` and, for about 37.5 % of people, the label ``age``.

Data model
----------
Every person gets a hidden exact age at the fixed reference date
(:data:`REFERENCE_DATE`, 2025-06-30), hence a hidden decimal birth year.
Everything visible is derived from that birth year so that age is learnable:

* **Education** - a base programme (bachelor for most people, otherwise an
  associate/vocational programme or only a high-school diploma) normally
  starting at 18-19, optionally followed by a master (sometimes after a gap),
  a PhD, and a late-career certificate or executive MBA.  The ``education``
  field is a JSON *string* that contains a JSON array, most recent first, as
  in the messy source this example imitates.
* **Work experience** - the career starts when the continuous part of
  education ends (or at 16-22 without a degree); jobs follow with
  gamma-distributed tenures and occasional breaks.  The array is ordered most
  recent first, and the current job has ``end_year: null``.
* **Job level** grows with the logarithm of the (hidden) years of experience,
  ``connection_count`` and the number of skills grow with experience too.

Noise (why the label is learnable but not trivially so)
-------------------------------------------------------
* late and mature students, gap years, master after a work break, career
  changers, career breaks;
* ~15 % of people list no education at all; a quarter of master graduates
  omit their bachelor; high-school-only people often omit the diploma; ~8 %
  of education entries have no ``start_year``;
* ~25 % list only their last 1-3 jobs and nobody lists more than 10;
  ~6 % list no jobs; students may only show an internship;
* founders hold "c-level" at any age and job level has per-person noise;
* ``connection_count`` is usually capped at 500 (the "500+" display).

The label itself is ``floor(exact age)``; ``age`` is null for most unlabelled
people and the key is absent for some of them.  With the features of
``features.sql`` a HistGradientBoostingRegressor reaches a holdout R^2 of
about 0.87-0.89.

Corrupted lines
---------------
With ``malformed_fraction > 0`` that share of lines (a Bernoulli draw per
row) is broken in one of four ways: truncated mid-object (40 %), ``id`` key
missing (20 %), ``"id": null`` (10 %), or a complete record repeating the id
of an intact line up to ~20 lines earlier (30 %; its content differs, so
"keep first" and "keep last" are distinguishable).  The earlier line sits in
the same file except when the duplicate falls within the first ~20 lines of
a file, because file boundaries must not change the content.

Determinism and streaming
-------------------------
Rows are produced in fixed internal chunks of :data:`CHUNK_ROWS`; each chunk
uses an RNG seeded from ``(seed, chunk index)`` and is always generated in
full before being cut to the requested row count.  The concatenated output
therefore depends only on ``seed`` (a smaller ``rows`` yields a prefix of a
larger one) and never on ``rows_per_file`` or ``gzip``.  Which lines are
corrupted is decided by a hash of ``(seed, row index)`` so that duplicates can
check whether an earlier row is itself valid without looking back into
previous chunks.  Only one chunk is held in memory at a time.

Rendering is vectorised: numpy builds the values, pyarrow assembles string,
list and struct columns, and DuckDB's ``to_json`` renders the lines.
"""

from __future__ import annotations

import argparse
import gzip as gzip_module
import io
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]

REFERENCE_DATE: Final = date(2025, 6, 30)
# Decimal year of the reference date: all hidden ages are measured from here.
_NOW: Final = REFERENCE_DATE.year + (REFERENCE_DATE.timetuple().tm_yday - 1) / 365.0

CHUNK_ROWS: Final = 16_384
LABELLED_FRACTION: Final = 0.375


def _split(text: str) -> tuple[str, ...]:
    """Parse a ``;``-separated vocabulary (compact, and stable under ruff format)."""
    return tuple(item.strip() for item in text.split(";"))


# --------------------------------------------------------------------------
# Vocabularies.  Index positions matter: several tables are addressed by
# ``level * len(ROLES) + role``.
# --------------------------------------------------------------------------

FIRST_NAMES: Final = _split(
    """
    James; Mary; John; Patricia; Robert; Jennifer; Michael; Linda; David; Elizabeth; William;
    Barbara; Richard; Susan; Joseph; Jessica; Thomas; Sarah; Daniel; Karen; Matthew; Emily;
    Anthony; Olivia; Mark; Emma; Paul; Sophia; Steven; Ava; Andrew; Mia; Joshua; Chloe; Kevin;
    Grace; Brian; Hannah; Liam; Zoë; Noah; Amélie; Lucas; Ines; José; Priya; Wei; Aisha; Mateo;
    Yuki; Omar; Fatima; Lars; Ingrid; Raj; Ana; Björn; Chen; Kwame; Leila
    """
)
LAST_NAMES: Final = _split(
    """
    Smith; Johnson; Williams; Brown; Jones; Garcia; Miller; Davis; Rodriguez; Martinez; Hernandez;
    Lopez; Gonzalez; Wilson; Anderson; Thomas; Taylor; Moore; Jackson; Martin; Lee; Perez;
    Thompson; White; Harris; Sanchez; Clark; Ramirez; Lewis; Robinson; Walker; Young; Allen; King;
    Wright; Scott; Nguyen; Hill; Flores; Green; Müller; Schmidt; Dubois; Rossi; Kowalski; Novak;
    Patel; Singh; Kim; Tanaka; Wang; Okafor; Haddad; Johansson; O'Brien; Núñez
    """
)
# Ends with vague locations and, through the trailing ";", an empty one, as
# real profiles have.
LOCATIONS: Final = _split(
    """
    New York, United States; San Francisco, United States; Austin, United States;
    Chicago, United States; Seattle, United States; Boston, United States; Toronto, Canada;
    Vancouver, Canada; London, United Kingdom; Manchester, United Kingdom; Dublin, Ireland;
    Paris, France; Lyon, France; Berlin, Germany; Munich, Germany; Amsterdam, Netherlands;
    Stockholm, Sweden; Madrid, Spain; Barcelona, Spain; Milan, Italy; Zürich, Switzerland;
    Warsaw, Poland; Prague, Czechia; Lisbon, Portugal; Bangalore, India; Mumbai, India;
    Singapore, Singapore; Tokyo, Japan; Sydney, Australia; Melbourne, Australia; São Paulo, Brazil;
    Mexico City, Mexico; Lagos, Nigeria; Nairobi, Kenya; Dubai, United Arab Emirates;
    United States; Germany; India; Remote;
    """
)
INDUSTRIES: Final = _split(
    """
    Software; Financial Services; Healthcare; Retail; Manufacturing; Education; Telecommunications;
    Consulting; Media; Energy; Government; Non-profit
    """
)
COMPANY_SIZES: Final = (
    "1-10",
    "11-50",
    "51-200",
    "201-500",
    "501-1000",
    "1001-5000",
    "5001-10000",
    "10001+",
)
_COMPANY_SIZE_WEIGHTS: Final = (0.08, 0.14, 0.18, 0.14, 0.10, 0.15, 0.08, 0.13)
JOB_LEVELS: Final = (
    "intern",
    "junior",
    "mid",
    "senior",
    "lead",
    "manager",
    "director",
    "vp",
    "c-level",
)
_INTERN, _JUNIOR, _CLEVEL = 0, 1, 8
# Thresholds on the seniority score 2.2*log1p(years of experience) + noise
# that separate junior|mid|senior|lead|manager|director|vp|c-level.
_LEVEL_THRESHOLDS: Final = (2.6, 4.0, 5.2, 5.9, 6.5, 7.3, 8.1)

# (individual-contributor noun, department, chief title)
ROLES: Final = (
    ("Software Engineer", "Engineering", "CTO"),
    ("Data Scientist", "Data", "Chief Data Officer"),
    ("Account Executive", "Sales", "Chief Revenue Officer"),
    ("Marketing Specialist", "Marketing", "CMO"),
    ("Financial Analyst", "Finance", "CFO"),
    ("Operations Analyst", "Operations", "COO"),
    ("HR Specialist", "People", "Chief People Officer"),
    ("Product Designer", "Design", "Chief Design Officer"),
    ("Product Manager", "Product", "Chief Product Officer"),
    ("Support Specialist", "Customer Success", "Chief Customer Officer"),
    ("Legal Counsel", "Legal", "General Counsel"),
    ("Research Scientist", "Research", "Chief Scientist"),
)


def _title(level: int, role: tuple[str, str, str]) -> str:
    noun, dept, chief = role
    return (
        f"{dept} Intern",
        f"Junior {noun}",
        noun,
        f"Senior {noun}",
        f"Lead {noun}",
        f"{dept} Manager",
        f"Director of {dept}",
        f"VP of {dept}",
        chief,
    )[level]


TITLES: Final = tuple(_title(lvl, role) for lvl in range(len(JOB_LEVELS)) for role in ROLES)

_COMPANY_PREFIXES: Final = _split(
    """
    Acme; Northwind; Globex; Initech; Umbrella; Stark; Wayne; Hooli; Vandelay; Soylent; Cyberdyne;
    Tyrell; Aperture; Blue Harbor; Silver Peak; Redwood; Bright Path; Ironclad; Nimbus; Quantum;
    Evergreen; Summit; Cobalt; Orion; Lumen; Granite; Helix; Pioneer; Atlas; Meridian
    """
)
_COMPANY_SUFFIXES: Final = (
    "Labs",
    "Systems",
    "Analytics",
    "Group",
    "Solutions",
    "Partners",
    "Health",
    "Capital",
    "Technologies",
    "& Co.",
)
COMPANIES: Final = tuple(f"{p} {s}" for p in _COMPANY_PREFIXES for s in _COMPANY_SUFFIXES)
_COMPANY_DOMAINS: Final = tuple(
    p.lower().replace(" ", "") + ".com" for p in _COMPANY_PREFIXES for _ in _COMPANY_SUFFIXES
)

_PLACES: Final = _split(
    """
    Springfield; Riverside; Franklin; Greenville; Oxford; Cambridge; Madison; Clinton; Salem;
    Georgetown; Kingston; Arlington; Ashland; Dover; Hudson; Milton; Newport; Lakewood; Fairview;
    Bristol
    """
)
UNIVERSITIES: Final = tuple(
    name for place in _PLACES for name in (f"University of {place}", f"{place} Institute of Technology")
)
COLLEGES: Final = tuple(f"{place} Community College" for place in _PLACES)
HIGH_SCHOOLS: Final = tuple(f"{place} High School" for place in _PLACES)

# Degree spellings vary, as in free-text profiles; features must normalise.
# One group per kind of programme, concatenated into DEGREES.
_DEGREE_GROUPS: Final = {
    "bachelor": ("Bachelor of Science", "Bachelor of Arts", "BSc", "BA", "B.Eng."),
    "associate": ("Associate Degree", "Vocational Diploma", "HND"),
    "high_school": ("High School Diploma",),
    "master": ("Master of Science", "MSc", "MBA", "Master of Arts", "M.Eng."),
    "phd": ("PhD", "Doctor of Philosophy"),
    "certificate": ("Professional Certificate", "Executive MBA", "Bootcamp Certificate"),
}
DEGREES: Final = tuple(name for group in _DEGREE_GROUPS.values() for name in group)
_SCHOOL_GROUPS: Final = {"university": UNIVERSITIES, "college": COLLEGES, "high_school": HIGH_SCHOOLS}
SCHOOLS: Final = UNIVERSITIES + COLLEGES + HIGH_SCHOOLS

# 97 entries, a prime: see _skills_column().
SKILLS: Final = _split(
    """
    Python; SQL; Java; JavaScript; TypeScript; C++; Go; Rust; Scala; R; Excel; PowerPoint; Tableau;
    Power BI; Spark; Hadoop; Kafka; AWS; Azure; GCP; Docker; Kubernetes; Terraform; Linux; Git;
    Machine Learning; Deep Learning; Statistics; Data Analysis; Data Visualization; ETL; Airflow;
    dbt; Snowflake; PostgreSQL; MongoDB; React; Node.js; HTML; CSS; Figma; Sketch; User Research;
    UX Design; Product Management; Agile; Scrum; Jira; Project Management; Leadership;
    Team Management; Public Speaking; Negotiation; Sales; CRM; Salesforce; HubSpot; SEO;
    Content Marketing; Social Media; Copywriting; Branding; Financial Modeling; Accounting;
    Budgeting; Forecasting; Risk Management; Compliance; Contract Law; Recruiting; Onboarding;
    Employee Relations; Customer Service; Zendesk; Operations; Supply Chain; Logistics; Lean;
    Six Sigma; Strategy; Business Development; Consulting; Research; Writing; Editing; Teaching;
    Mentoring; Cobol; Mainframe; SAP; Oracle; Lotus Notes; Generative AI; LLMs; Prompt Engineering;
    TikTok Marketing; Figma Prototyping
    """
)
_EMAIL_DOMAINS: Final = (
    "gmail.com",
    "outlook.com",
    "yahoo.com",
    "hotmail.com",
    "aol.com",
    "icloud.com",
    "protonmail.com",
    "<company>",
)
# Domain popularity by birth cohort (born < 1970, 1970-1989, >= 1990): older
# people keep their aol/hotmail/yahoo addresses.
_DOMAIN_WEIGHTS: Final = (
    (0.25, 0.10, 0.20, 0.15, 0.15, 0.03, 0.02, 0.10),
    (0.40, 0.12, 0.12, 0.15, 0.03, 0.06, 0.02, 0.10),
    (0.55, 0.12, 0.04, 0.04, 0.00, 0.12, 0.05, 0.08),
)

# Line corruption kinds.
_VALID, _TRUNCATED, _NO_ID_KEY, _NULL_ID, _DUPLICATE = 0, 1, 2, 3, 4
_DUPLICATE_MAX_LAG: Final = 20

# Study tracks for the first programme after compulsory school.
_BACHELOR, _ASSOCIATE, _HIGH_SCHOOL = 0, 1, 2
_MAX_JOB_SLOTS: Final = 16
_MAX_LISTED_JOBS: Final = 10


@dataclass(frozen=True)
class GenerateReport:
    """What :func:`generate` wrote.

    ``labelled`` counts intact (non-malformed) lines whose ``age`` is not
    null; ``malformed`` counts every deliberately corrupted line, including
    well-formed duplicates of an earlier id.
    """

    files: list[Path]
    rows: int
    labelled: int
    malformed: int


# --------------------------------------------------------------------------
# Hidden person model
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _People:
    age_exact: F64  # exact age at REFERENCE_DATE
    birth: F64  # decimal birth year
    role: I64
    industry: I64


@dataclass(frozen=True)
class _Studies:
    """Hidden study history as (rows x 4) matrices, chronological slots:
    base programme (bachelor, associate or high school), master, PhD and a
    late certificate."""

    track: I64  # _BACHELOR, _ASSOCIATE or _HIGH_SCHOOL
    start_age: F64
    end_age: F64
    exists: Bool
    career_start_age: F64  # age at which full-time work begins


@dataclass(frozen=True)
class _Education:
    """Listed education, (rows x 4) matrices sorted most recent first."""

    listed: Bool
    degree: I64  # index into DEGREES
    school: I64  # index into SCHOOLS
    start_year: I64
    end_year: I64
    start_missing: Bool


@dataclass(frozen=True)
class _Jobs:
    """Hidden job history as (rows x _MAX_JOB_SLOTS) matrices, chronological."""

    start_age: F64
    end_age: F64
    held: Bool  # a prefix of the slots
    current: Bool  # still held today; only ever the last held slot
    last: I64  # per row: index of the last held slot (0 when none)
    intern: Bool  # per row: the only job is an internship


@dataclass(frozen=True)
class _Work:
    """Listed work experience, (rows x slots) matrices sorted most recent first."""

    listed: Bool
    title: I64  # index into TITLES
    company: I64  # index into COMPANIES
    start_year: I64
    end_year: I64
    current: Bool
    level: I64  # per row: current job level, -1 when not filled in
    company_size: I64
    experience: F64  # per row: hidden years since the career started


def _people(rng: np.random.Generator, n: int) -> _People:
    # A right-skewed working-age distribution (mean ~37); the rare draws
    # beyond 75 are replaced with mid-career ages rather than clipped so no
    # spike forms at the upper bound.
    age = 18.0 + rng.gamma(2.4, 8.0, n)
    age = np.where(age < 76.0, age, rng.uniform(22.0, 60.0, n))
    return _People(
        age_exact=age,
        birth=_NOW - age,
        role=rng.integers(0, len(ROLES), n),
        industry=rng.integers(0, len(INDUSTRIES), n),
    )


def _pick(rng: np.random.Generator, n: int, options: Sequence[str]) -> I64:
    return rng.integers(0, len(options), n)


def _base_programme(rng: np.random.Generator, track: I64) -> tuple[F64, F64]:
    """Start and end age of the first programme after compulsory school."""
    n = len(track)
    # Most students start at 18-19; some take gap years, some come back late.
    lateness = rng.random(n)
    bachelor_start = np.where(
        lateness < 0.55,
        18.0 + rng.random(n) * 1.2,
        np.where(lateness < 0.82, 19.0 + rng.exponential(2.5, n), 22.0 + rng.exponential(7.0, n)),
    )
    associate_start = 16.5 + 2.0 * rng.random(n) + np.where(rng.random(n) < 0.2, rng.exponential(5.0, n), 0.0)
    is_bachelor, is_associate = track == _BACHELOR, track == _ASSOCIATE
    start = np.select([is_bachelor, is_associate], [bachelor_start, associate_start], 14.0 + rng.random(n))
    length = np.select(
        [is_bachelor, is_associate],
        [rng.choice([3.0, 4.0, 5.0], n, p=[0.35, 0.55, 0.10]), rng.choice([1.0, 2.0], n)],
        4.0,
    )
    return start, start + length


def _studies(rng: np.random.Generator, n: int) -> _Studies:
    u = rng.random(n)
    track = np.select([u < 0.70, u < 0.90], [_BACHELOR, _ASSOCIATE], _HIGH_SCHOOL).astype(np.int64)
    base_start, base_end = _base_programme(rng, track)

    has_master = (track == _BACHELOR) & (rng.random(n) < 0.35)
    master_direct = rng.random(n) < 0.55  # otherwise after a work break
    master_start = base_end + np.where(master_direct, 0.0, 0.5 + rng.exponential(3.0, n))
    master_end = master_start + rng.choice([1.0, 2.0], n)
    has_phd = has_master & (rng.random(n) < 0.2)
    phd_start = master_end + np.where(rng.random(n) < 0.7, 0.0, rng.exponential(2.0, n))
    phd_end = phd_start + 4.0 + 2.0 * rng.random(n)
    has_cert = rng.random(n) < 0.12
    cert_start = 25.0 + rng.exponential(8.0, n)

    # Full-time work starts when the uninterrupted part of education ends.
    study_end = np.where(has_phd, phd_end, np.where(has_master & master_direct, master_end, base_end))
    no_degree_start = 16.0 + 3.0 * rng.random(n) + rng.exponential(1.5, n)
    career_start = np.where(track == _HIGH_SCHOOL, no_degree_start, study_end + rng.exponential(0.7, n))
    return _Studies(
        track=track,
        start_age=np.stack([base_start, master_start, phd_start, cert_start], axis=1),
        end_age=np.stack([base_end, master_end, phd_end, cert_start + 1.0], axis=1),
        exists=np.stack([np.ones(n, dtype=bool), has_master, has_phd, has_cert], axis=1),
        career_start_age=career_start,
    )


def _listed_studies(rng: np.random.Generator, s: _Studies, age_exact: F64) -> Bool:
    """Which studies a profile shows: nothing for ~15 % of people, and
    master graduates and high-school leavers often skip their first entry."""
    n = len(age_exact)
    listed = s.exists & (s.start_age < age_exact[:, None]) & (rng.random(n) >= 0.15)[:, None]
    skips_first = (s.exists[:, 1] & (rng.random(n) < 0.25)) | ((s.track == _HIGH_SCHOOL) & (rng.random(n) < 0.5))
    listed[:, 0] &= ~skips_first
    return listed


def _group_pick(u: F64, groups: Mapping[str, Sequence[str]], group: str) -> I64:
    """Map uniform draws onto the indices of ``group`` in the concatenated ``groups``."""
    offset = 0
    for name, members in groups.items():
        if name == group:
            return offset + np.minimum((u * len(members)).astype(np.int64), len(members) - 1)
        offset += len(members)
    raise KeyError(group)


def _degrees_and_schools(rng: np.random.Generator, track: I64) -> tuple[I64, I64]:
    """(rows x 4) indices into DEGREES and SCHOOLS matching the study slots."""
    n = len(track)
    u, v = rng.random((n, 4)), rng.random((n, 4))
    tracks = [track == _BACHELOR, track == _ASSOCIATE]
    base_degree = np.select(
        tracks,
        [_group_pick(u[:, 0], _DEGREE_GROUPS, "bachelor"), _group_pick(u[:, 0], _DEGREE_GROUPS, "associate")],
        _group_pick(u[:, 0], _DEGREE_GROUPS, "high_school"),
    )
    base_school = np.select(
        tracks,
        [_group_pick(v[:, 0], _SCHOOL_GROUPS, "university"), _group_pick(v[:, 0], _SCHOOL_GROUPS, "college")],
        _group_pick(v[:, 0], _SCHOOL_GROUPS, "high_school"),
    )
    degree = np.stack(
        [base_degree]
        + [_group_pick(u[:, i], _DEGREE_GROUPS, g) for i, g in enumerate(("master", "phd", "certificate"), 1)],
        axis=1,
    )
    school = np.stack([base_school] + [_group_pick(v[:, i], _SCHOOL_GROUPS, "university") for i in (1, 2, 3)], axis=1)
    return degree, school


def _education(rng: np.random.Generator, p: _People, s: _Studies) -> _Education:
    listed = _listed_studies(rng, s, p.age_exact)
    degree, school = _degrees_and_schools(rng, s.track)
    # Most recent first, like profile pages; unlisted slots sort last.
    order = np.argsort(np.where(listed, -s.start_age, np.inf), axis=1, kind="stable")

    def recent_first(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return np.take_along_axis(values, order, axis=1)

    birth = p.birth[:, None]
    return _Education(
        listed=recent_first(listed),
        degree=recent_first(degree),
        school=recent_first(school),
        start_year=recent_first(np.floor(birth + s.start_age).astype(np.int64)),
        end_year=recent_first(np.floor(birth + s.end_age).astype(np.int64)),
        start_missing=rng.random(listed.shape) < 0.08,
    )


def _job_timeline(rng: np.random.Generator, age_exact: F64, career_start_age: F64) -> _Jobs:
    n, slots = len(age_exact), _MAX_JOB_SLOTS
    age = age_exact[:, None]
    tenure = rng.gamma(1.6, 2.0, (n, slots)) + 0.25
    breaks = np.where(rng.random((n, slots)) < 0.1, rng.exponential(1.5, (n, slots)), 0.0)
    breaks[:, 0] = 0.0
    start_age = career_start_age[:, None] + np.cumsum(breaks, axis=1) + np.cumsum(tenure, axis=1) - tenure
    end_age = start_age + tenure
    held = start_age < age

    # Students who have not started working may show one internship.
    intern = ~held[:, 0] & (age_exact < 30.0) & (rng.random(n) < 0.5)
    start_age[:, 0] = np.where(intern, age_exact - 0.8 * rng.random(n), start_age[:, 0])
    held[:, 0] |= intern

    last = np.maximum(held.sum(axis=1) - 1, 0)
    is_last = held & (np.arange(slots)[None, :] == last[:, None])
    # The last job of the not-currently-employed ended a little before now.
    end_age = np.where(is_last, np.minimum(end_age, age - 1.5 * rng.random(n)[:, None]), end_age)
    return _Jobs(
        start_age=start_age,
        end_age=np.maximum(end_age, start_age),
        held=held,
        current=is_last & (rng.random(n) < 0.9)[:, None],
        last=last,
        intern=intern,
    )


def _job_levels(rng: np.random.Generator, jobs: _Jobs, career_start_age: F64) -> I64:
    """(rows x slots) level per job: log of experience plus per-person noise;
    founders are c-level at any age."""
    n, slots = len(jobs.last), _MAX_JOB_SLOTS
    experience = np.maximum(jobs.start_age - career_start_age[:, None], 0.0)
    score = 2.2 * np.log1p(experience) + rng.normal(0.0, 0.8, n)[:, None] + rng.normal(0.0, 0.4, (n, slots))
    level = _JUNIOR + np.searchsorted(np.asarray(_LEVEL_THRESHOLDS), score).astype(np.int64)
    level[:, 0] = np.where(jobs.intern, _INTERN, level[:, 0])
    founder = ~jobs.intern & (rng.random(n) < 0.04)
    is_last = np.arange(slots)[None, :] == jobs.last[:, None]
    return np.where(is_last & founder[:, None], _CLEVEL, level)


def _listed_jobs(rng: np.random.Generator, jobs: _Jobs) -> Bool:
    """Profiles show at most 10 jobs; some people list only their last 1-3
    and some none at all."""
    n, slots = len(jobs.last), _MAX_JOB_SLOTS
    show = np.full(n, _MAX_LISTED_JOBS)
    show = np.where(rng.random(n) < 0.25, rng.integers(1, 4, n), show)
    show = np.where(rng.random(n) < 0.06, 0, show)
    first_shown = jobs.held.sum(axis=1) - show
    listed: Bool = jobs.held & (np.arange(slots)[None, :] >= first_shown[:, None])
    return listed


def _work(rng: np.random.Generator, p: _People, career_start_age: F64) -> _Work:
    n, slots = len(p.age_exact), _MAX_JOB_SLOTS
    jobs = _job_timeline(rng, p.age_exact, career_start_age)
    level = _job_levels(rng, jobs, career_start_age)
    # Career changers: a share of jobs sit outside the person's main role.
    role = np.where(rng.random((n, slots)) < 0.8, p.role[:, None], rng.integers(0, len(ROLES), (n, slots)))
    listed = _listed_jobs(rng, jobs)

    current_level = np.where(jobs.held[:, 0], level[np.arange(n), jobs.last], -1)
    current_level = np.where(rng.random(n) < 0.05, -1, current_level)  # not filled in

    order = _most_recent_first(jobs.last, slots)

    def recent_first(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return np.take_along_axis(values, order, axis=1)

    birth = p.birth[:, None]
    return _Work(
        listed=recent_first(listed),
        title=recent_first(level * len(ROLES) + role),
        company=rng.integers(0, len(COMPANIES), (n, slots)),
        start_year=recent_first(np.floor(birth + jobs.start_age).astype(np.int64)),
        end_year=recent_first(np.floor(birth + jobs.end_age).astype(np.int64)),
        current=recent_first(jobs.current),
        level=current_level,
        company_size=rng.choice(len(COMPANY_SIZES), n, p=_COMPANY_SIZE_WEIGHTS),
        experience=np.maximum(p.age_exact - career_start_age, 0.0),
    )


def _most_recent_first(last: I64, slots: int) -> I64:
    """Per-row permutation that reverses the held slots ``0..last``.

    Unheld slots keep their place after them, so "listed" stays a prefix.
    """
    k = np.arange(slots)[None, :]
    return np.where(k <= last[:, None], last[:, None] - k, k)


# --------------------------------------------------------------------------
# Arrow assembly
# --------------------------------------------------------------------------


def _list_array(listed: Bool, values: pa.Array) -> pa.Array:
    """Wrap the row-major flattened ``values`` of ``listed`` cells into lists."""
    offsets = np.zeros(len(listed) + 1, dtype=np.int32)
    np.cumsum(listed.sum(axis=1), out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def _take(table: Sequence[str], idx: npt.NDArray[np.integer[Any]]) -> pa.Array:
    return pc.take(pa.array(table), pa.array(idx))


def _education_column(edu: _Education) -> pa.Array:
    mask = edu.listed
    entries = pa.StructArray.from_arrays(
        [
            _take(DEGREES, edu.degree[mask]),
            _take(SCHOOLS, edu.school[mask]),
            pa.array(edu.start_year[mask], mask=edu.start_missing[mask]),
            pa.array(edu.end_year[mask]),
        ],
        names=["degree", "institution", "start_year", "end_year"],
    )
    return _list_array(mask, entries)


def _work_column(work: _Work) -> pa.Array:
    mask = work.listed
    jobs = pa.StructArray.from_arrays(
        [
            _take(TITLES, work.title[mask]),
            _take(COMPANIES, work.company[mask]),
            pa.array(work.start_year[mask]),
            pa.array(work.end_year[mask], mask=work.current[mask]),
        ],
        names=["title", "company", "start_year", "end_year"],
    )
    return _list_array(mask, jobs)


def _skills_column(rng: np.random.Generator, experience: F64) -> pa.Array:
    n, vocab = len(experience), len(SKILLS)
    count = np.minimum(rng.poisson(3.0 + 9.0 * (1.0 - np.exp(-experience / 10.0))), 30)
    # Distinct skills without an n x vocab argsort: walk the vocabulary from a
    # random start with a random stride; the vocabulary size is prime, so any
    # stride visits distinct entries.
    start = rng.integers(0, vocab, n)[:, None]
    stride = rng.integers(1, vocab, n)[:, None]
    idx = (start + stride * np.arange(30)[None, :]) % vocab
    listed = np.arange(30)[None, :] < count[:, None]
    return _list_array(listed, _take(SKILLS, idx[listed]))


def _names(rng: np.random.Generator, n: int) -> tuple[I64, I64, pa.Array]:
    first, last = _pick(rng, n, FIRST_NAMES), _pick(rng, n, LAST_NAMES)
    initials = _take([f" {c}." for c in "ABCDEFGHJKLMNPRSTW"], rng.integers(0, 18, n))
    middle = pc.if_else(pa.array(rng.random(n) < 0.1), initials, "")
    full = pc.binary_join_element_wise(_take(FIRST_NAMES, first), middle, " ", _take(LAST_NAMES, last), "")
    # A few people type their name in lower case.
    full = pc.if_else(pa.array(rng.random(n) < 0.03), pc.utf8_lower(full), full)
    return first, last, full


def _ascii_handle(name: str) -> str:
    folded = name.translate(str.maketrans("äöüéèëïíóúñçøåãÉÖÜ", "aoueeeiiouncoaaEOU"))
    return "".join(c for c in folded.lower() if c.isalnum())


def _emails_column(rng: np.random.Generator, first: I64, last: I64, birth: F64, company: I64) -> pa.Array:
    n, slots = len(first), 3
    count = rng.choice(4, n, p=[0.18, 0.52, 0.22, 0.08])
    listed = np.arange(slots)[None, :] < count[:, None]
    rows = np.repeat(np.arange(n), count)
    k = len(rows)

    f = _take([_ascii_handle(s) for s in FIRST_NAMES], first[rows])
    last_handle = _take([_ascii_handle(s) for s in LAST_NAMES], last[rows])
    initial = pc.utf8_slice_codeunits(f, 0, 1)
    birth_year = np.floor(birth[rows]).astype(np.int64)
    yy = _take([f"{i:02d}" for i in range(100)], birth_year % 100)
    digits = _take([str(i) for i in range(1000)], rng.integers(0, 1000, k))
    variants = [
        pc.binary_join_element_wise(f, last_handle, "."),
        pc.binary_join_element_wise(f, last_handle, ""),
        pc.binary_join_element_wise(initial, last_handle, ""),
        pc.binary_join_element_wise(f, last_handle, yy, ""),  # the classic johnsmith84
        pc.binary_join_element_wise(f, digits, ""),
    ]
    style = rng.integers(0, len(variants), k)
    local = variants[0]
    for i, variant in enumerate(variants[1:], start=1):
        local = pc.if_else(pa.array(style == i), variant, local)

    cohort = np.digitize(birth_year, [1970, 1990])
    cdf = np.cumsum(np.asarray(_DOMAIN_WEIGHTS), axis=1)[cohort]
    domain_idx = (rng.random(k)[:, None] > cdf).sum(axis=1)
    domain_idx = np.minimum(domain_idx, len(_EMAIL_DOMAINS) - 1)
    domains = pc.if_else(
        pa.array(domain_idx == len(_EMAIL_DOMAINS) - 1),
        _take(_COMPANY_DOMAINS, company[rows]),
        _take(_EMAIL_DOMAINS, domain_idx),
    )
    return _list_array(listed, pc.binary_join_element_wise(local, domains, "@"))


def _headline_column(rng: np.random.Generator, work: _Work, skills: pa.Array, edu: _Education) -> pa.Array:
    n = len(work.level)
    has_job = work.listed[:, 0]
    title = _take(TITLES, work.title[:, 0])
    at_company = pc.binary_join_element_wise(title, _take(COMPANIES, work.company[:, 0]), " at ")
    first_skills = pc.binary_join(pc.list_slice(skills, 0, 2), " | ")
    with_skills = pc.binary_join_element_wise(title, first_skills, " | ")
    headline = pc.if_else(
        pc.and_(pa.array(rng.random(n) < 0.15), pc.greater(pc.list_value_length(skills), 1)),
        with_skills,
        at_company,
    )
    fallback = pc.if_else(
        pa.array(edu.listed[:, 0] & (edu.end_year[:, 0] >= REFERENCE_DATE.year)),
        "Student",
        "Open to new opportunities",
    )
    return pc.if_else(pa.array(has_job & work.current[:, 0]), headline, fallback)


def _profile_updated(rng: np.random.Generator, n: int) -> pa.Array:
    days_ago = np.minimum(rng.exponential(400.0, n), 3650.0).astype(np.int64)
    dates = np.datetime64(REFERENCE_DATE.isoformat(), "D") - days_ago
    return pa.array(dates.astype("datetime64[D]"), type=pa.date32())


def _connections(rng: np.random.Generator, experience: F64) -> pa.Array:
    n = len(experience)
    count = np.exp(3.5 + 0.9 * np.log1p(experience) + rng.normal(0.0, 1.0, n)).astype(np.int64)
    # Most profiles display "500+", stored as 500.
    capped = (count > 500) & (rng.random(n) < 0.8)
    return pa.array(np.where(capped, 500, count))


def _chunk_table(seed: int, chunk_index: int) -> pa.Table:
    """All CHUNK_ROWS people of one chunk, before corruption and labels."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, chunk_index]))
    n = CHUNK_ROWS
    people = _people(rng, n)
    studies = _studies(rng, n)
    edu = _education(rng, people, studies)
    work = _work(rng, people, studies.career_start_age)
    skills = _skills_column(rng, work.experience)
    first, last, full_name = _names(rng, n)
    labelled = rng.random(n) < LABELLED_FRACTION
    omit_age = ~labelled & (rng.random(n) < 0.2)
    level = work.level
    return pa.table(
        {
            "full_name": full_name,
            "headline": _headline_column(rng, work, skills, edu),
            "emails": _emails_column(rng, first, last, people.birth, work.company[:, 0]),
            "location": _take(LOCATIONS, _pick(rng, n, LOCATIONS)),
            "industry": _take(INDUSTRIES, people.industry),
            "company_size": _take(COMPANY_SIZES, work.company_size),
            "job_level": pc.if_else(pa.array(level >= 0), _take(JOB_LEVELS, np.maximum(level, 0)), None),
            "connection_count": _connections(rng, work.experience),
            "skills": skills,
            "work_experience": _work_column(work),
            "education": _education_column(edu),
            "education_is_null": pa.array(~edu.listed.any(axis=1) & (rng.random(n) < 0.3)),
            "profile_updated_at": _profile_updated(rng, n),
            "age": pa.array(np.floor(people.age_exact).astype(np.int64), mask=~labelled),
            "omit_age": pa.array(omit_age),
        }
    )


# --------------------------------------------------------------------------
# Corruption plan: a pure function of (seed, row index), so a duplicate can
# verify that the earlier row it copies the id of is itself intact, even
# when that row lives in a previous chunk.
# --------------------------------------------------------------------------

_DUPLICATE_MAX_STEPS: Final = 64


def _splitmix64(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _row_uniform(seed: int, stream: int, rows: I64) -> F64:
    """A uniform [0, 1) draw per row index, independent across streams."""
    key = _splitmix64(np.array([(seed * 16 + stream) % 2**64], dtype=np.uint64))
    bits = _splitmix64(rows.astype(np.uint64) ^ key)
    return (bits >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _is_malformed(seed: int, fraction: float, rows: I64) -> Bool:
    return _row_uniform(seed, 1, rows) < fraction


@dataclass(frozen=True)
class _Corruption:
    kind: npt.NDArray[np.int8]
    id_row: I64  # row index rendered as the id (differs for duplicates)
    cut: F64  # where a truncated line is cut, as a fraction of its length


def _corruption(seed: int, fraction: float, rows: I64) -> _Corruption:
    cut = 0.1 + 0.8 * _row_uniform(seed, 4, rows)
    if fraction <= 0.0:
        return _Corruption(np.zeros(len(rows), dtype=np.int8), rows, cut)
    bad = _is_malformed(seed, fraction, rows)
    u = _row_uniform(seed, 2, rows)
    kind = np.select(
        [~bad, u < 0.4, u < 0.6, u < 0.7],
        [_VALID, _TRUNCATED, _NO_ID_KEY, _NULL_ID],
        _DUPLICATE,
    ).astype(np.int8)
    duplicate = kind == _DUPLICATE
    lag = 1 + (_row_uniform(seed, 3, rows) * _DUPLICATE_MAX_LAG).astype(np.int64)
    target = np.where(duplicate, rows - lag, rows)
    # Walk back past corrupted rows so the repeated id belongs to an intact
    # record; give up (and drop the id instead) if none is found quickly.
    pending = duplicate & (target >= 0)
    for _ in range(_DUPLICATE_MAX_STEPS):
        pending[pending] = _is_malformed(seed, fraction, target[pending])
        if not pending.any():
            break
        target[pending] -= 1
        pending &= target >= 0
    kind[duplicate & ((target < 0) | pending)] = _NO_ID_KEY
    return _Corruption(kind, np.where(kind == _DUPLICATE, target, rows), cut)


# --------------------------------------------------------------------------
# Rendering and writing
# --------------------------------------------------------------------------

# The id is the first key and the age the last one, which keeps the
# "drop the id key" and "omit the age key" edits simple string operations.
_RENDER_SQL: Final = f"""
WITH records AS (
    SELECT kind, cut, omit_age, CAST(to_json(struct_pack(
        id := CASE WHEN kind = {_NULL_ID} THEN NULL ELSE printf('p%09d', id_row) END,
        full_name := full_name,
        headline := headline,
        emails := emails,
        location := location,
        industry := industry,
        company_size := company_size,
        job_level := job_level,
        connection_count := connection_count,
        skills := skills,
        work_experience := work_experience,
        -- A JSON document stored as a string, as in the original source.
        education := CASE WHEN education_is_null THEN NULL
                          ELSE CAST(to_json(education) AS VARCHAR) END,
        profile_updated_at := profile_updated_at,
        age := age
    )) AS VARCHAR) AS j
    FROM chunk
), shaped AS (
    SELECT kind, cut,
           CASE WHEN omit_age THEN replace(j, ',"age":null}}', '}}') ELSE j END AS j
    FROM records
)
SELECT CASE kind
           WHEN {_TRUNCATED} THEN left(j, CAST(floor(length(j) * cut) AS BIGINT))
           WHEN {_NO_ID_KEY} THEN '{{' || substr(j, strpos(j, ',') + 1)
           ELSE j
       END || chr(10) AS line
FROM shaped
"""


def _render(con: duckdb.DuckDBPyConnection, table: pa.Table) -> pa.ChunkedArray:
    con.register("chunk", table)
    try:
        return con.sql(_RENDER_SQL).to_arrow_table().column("line")
    finally:
        con.unregister("chunk")


def _line_bytes(arr: pa.Array) -> tuple[memoryview, I64]:
    """Zero-copy view of a string array's bytes plus its line boundaries."""
    if pa.types.is_string(arr.type):
        offset_type: type[np.integer[Any]] = np.int32
    else:
        arr = arr.cast(pa.large_string())
        offset_type = np.int64
    _, offsets, data = arr.buffers()
    ends = np.frombuffer(offsets, dtype=offset_type)[arr.offset : arr.offset + len(arr) + 1]
    return memoryview(data), ends.astype(np.int64)


class _RotatingWriter:
    """Writes lines into ``profiles-NNNNN.jsonl[.gz]`` files of a fixed size."""

    def __init__(self, out_dir: Path, rows_per_file: int, compress: bool) -> None:
        self.files: list[Path] = []
        self._out_dir, self._rows_per_file, self._compress = out_dir, rows_per_file, compress
        self._raw: io.BufferedWriter | None = None
        self._gz: gzip_module.GzipFile | None = None
        self._in_file = 0

    def __enter__(self) -> _RotatingWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._close()

    def write(self, lines: pa.ChunkedArray) -> None:
        for arr in lines.chunks:
            data, ends = _line_bytes(arr)
            pos, n = 0, len(ends) - 1
            while pos < n:
                sink = self._sink()
                take = min(n - pos, self._rows_per_file - self._in_file)
                sink.write(data[ends[pos] : ends[pos + take]])
                pos, self._in_file = pos + take, self._in_file + take
                if self._in_file == self._rows_per_file:
                    self._close()

    def _sink(self) -> io.BufferedWriter | gzip_module.GzipFile:
        """The open output file, starting the next one when none is open."""
        if self._raw is None:
            suffix = ".jsonl.gz" if self._compress else ".jsonl"
            path = self._out_dir / f"profiles-{len(self.files):05d}{suffix}"
            self.files.append(path)
            self._raw = path.open("wb")
            self._in_file = 0
            if self._compress:
                # mtime=0 and no file name keep gzip output byte-reproducible;
                # level 3 is ~3x faster than level 6 for ~20 % larger files.
                self._gz = gzip_module.GzipFile(filename="", mode="wb", fileobj=self._raw, compresslevel=3, mtime=0)
        return self._gz if self._gz is not None else self._raw

    def _close(self) -> None:
        if self._gz is not None:
            self._gz.close()  # flushes the gzip trailer; leaves the raw file open
        if self._raw is not None:
            self._raw.close()
        self._gz = self._raw = None


def _validate(rows: int, seed: int, rows_per_file: int, malformed_fraction: float) -> None:
    if rows < 0:
        raise ValueError(f"rows must be >= 0, got {rows}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if rows_per_file < 1:
        raise ValueError(f"rows_per_file must be >= 1, got {rows_per_file}")
    if not 0.0 <= malformed_fraction <= 1.0:
        raise ValueError(f"malformed_fraction must be within [0, 1], got {malformed_fraction}")


def generate(
    out_dir: Path,
    rows: int,
    *,
    seed: int = 42,
    rows_per_file: int = 250_000,
    malformed_fraction: float = 0.0,
    gzip: bool = False,
) -> GenerateReport:
    """Write ``rows`` profile lines to ``out_dir/profiles-NNNNN.jsonl[.gz]``.

    The concatenated content depends only on ``seed``, ``rows`` and
    ``malformed_fraction``.  Existing files with the same names are
    overwritten; other files in ``out_dir`` are left alone.
    """
    _validate(rows, seed, rows_per_file, malformed_fraction)
    out_dir.mkdir(parents=True, exist_ok=True)
    labelled = malformed = 0
    with duckdb.connect() as con, _RotatingWriter(out_dir, rows_per_file, gzip) as writer:
        for table, kind in _prepared_chunks(seed, rows, malformed_fraction):
            writer.write(_render(con, table))
            intact = kind == _VALID
            labelled += int((intact & table.column("age").is_valid().to_numpy()).sum())
            malformed += int((~intact).sum())
    return GenerateReport(files=writer.files, rows=rows, labelled=labelled, malformed=malformed)


def _prepare_chunk(seed: int, fraction: float, first_row: int, n: int) -> tuple[pa.Table, npt.NDArray[np.int8]]:
    # Always build the full chunk so a shorter run is a prefix of a longer one.
    table = _chunk_table(seed, first_row // CHUNK_ROWS).slice(0, n)
    plan = _corruption(seed, fraction, np.arange(first_row, first_row + n))
    table = (
        table.append_column("kind", pa.array(plan.kind))
        .append_column("id_row", pa.array(plan.id_row))
        .append_column("cut", pa.array(plan.cut))
    )
    return table, plan.kind


def _prepared_chunks(seed: int, rows: int, fraction: float) -> Iterator[tuple[pa.Table, npt.NDArray[np.int8]]]:
    """Chunks in order, building the next one while the caller renders.

    numpy/pyarrow work on a helper thread overlaps with DuckDB rendering and
    file writes (both release the GIL); one chunk of look-ahead keeps memory
    flat.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        ahead: Future[tuple[pa.Table, npt.NDArray[np.int8]]] | None = None
        for first_row in range(0, rows, CHUNK_ROWS):
            n = min(CHUNK_ROWS, rows - first_row)
            submitted = pool.submit(_prepare_chunk, seed, fraction, first_row, n)
            if ahead is not None:
                yield ahead.result()
            ahead = submitted
        if ahead is not None:
            yield ahead.result()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, required=True, help="number of lines to write")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--rows-per-file", type=int, default=250_000)
    parser.add_argument("--malformed-fraction", type=float, default=0.0)
    parser.add_argument("--gzip", action="store_true", help="write .jsonl.gz files")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    report = generate(
        args.out,
        args.rows,
        seed=args.seed,
        rows_per_file=args.rows_per_file,
        malformed_fraction=args.malformed_fraction,
        gzip=args.gzip,
    )
    elapsed = time.perf_counter() - started
    print(
        f"wrote {report.rows} rows ({report.labelled} labelled, {report.malformed} malformed) "
        f"to {len(report.files)} file(s) in {args.out} in {elapsed:.1f}s "
        f"({report.rows / max(elapsed, 1e-9):,.0f} rows/s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
