-- Features for the age example (Athena / Trino dialect).
--
-- The arrays come typed from staging.sql, most recent entry first: element 1
-- is the latest job or degree, element -1 the earliest.  element_at (not
-- arr[i]) because Trino fails on an index past the end where element_at
-- gives NULL, as DuckDB does for both.
-- No integer division: Trino truncates, DuckDB does not.  Ratios cast to
-- double first so both engines agree.
WITH normalised AS (
    SELECT
        *,
        -- Degree spellings vary ("BSc", "Bachelor of Science", ...): normalise every
        -- entry once, then take the first and the latest.
        transform(education, e -> CASE
            WHEN lower(e.degree) IS NULL THEN NULL
            WHEN lower(e.degree) LIKE '%high school%' THEN 'high_school'
            WHEN lower(e.degree) LIKE 'bachelor%' OR lower(e.degree) IN ('bsc', 'ba', 'b.eng.')
                THEN 'bachelor'
            WHEN lower(e.degree) LIKE 'master%' OR lower(e.degree) IN ('msc', 'mba', 'm.eng.')
                THEN 'master'
            WHEN lower(e.degree) LIKE '%phd%' OR lower(e.degree) LIKE 'doctor%' THEN 'phd'
            WHEN lower(e.degree) LIKE 'associate%' OR lower(e.degree) LIKE '%vocational%'
                OR lower(e.degree) = 'hnd' THEN 'associate'
            ELSE 'certificate'
        END) AS degrees
    FROM {{ staging }}
),

counted AS (
    SELECT
        id,
        age,
        job_level,
        industry,
        company_size,
        connection_count,
        -- Ages are measured at the reference date the labels were taken at.
        2025 AS reference_year,
        COALESCE(cardinality(skills), 0) AS n_skills,
        COALESCE(cardinality(emails), 0) AS n_emails,
        COALESCE(cardinality(work_experience), 0) AS n_jobs,
        COALESCE(cardinality(education), 0) AS n_education,
        element_at(work_experience, 1).start_year AS latest_job_start,
        element_at(work_experience, 1).end_year AS latest_job_end,
        element_at(work_experience, -1).start_year AS first_job_start,
        element_at(education, -1).start_year AS first_education_start,
        element_at(education, -1).end_year AS first_education_end,
        element_at(education, 1).end_year AS latest_education_end,
        element_at(degrees, 1) AS latest_degree,
        element_at(degrees, -1) AS first_degree
    FROM normalised
)

SELECT
    id,
    age,
    job_level,
    industry,
    company_size,
    connection_count,
    CASE WHEN connection_count >= 500 THEN 1 ELSE 0 END AS connections_capped,
    n_skills,
    n_emails,
    n_jobs,
    n_education,
    CASE WHEN n_education > 0 THEN 1 ELSE 0 END AS has_education,
    CASE WHEN n_jobs > 0 AND latest_job_end IS NULL THEN 1 ELSE 0 END AS currently_employed,
    reference_year - first_job_start AS years_since_first_job,
    reference_year - latest_job_start AS years_in_latest_job,
    CASE WHEN n_jobs > 0
        THEN CAST(reference_year - first_job_start AS double) / n_jobs
    END AS years_per_job,
    reference_year - first_education_start AS years_since_first_education,
    reference_year - first_education_end AS years_since_first_graduation,
    reference_year - latest_education_end AS years_since_latest_graduation,
    first_degree,
    latest_degree
FROM counted
