-- Features for the age example (Athena / Trino dialect).
--
-- Portability notes (the query is transpiled to DuckDB by sqlglot):
-- * json_array_length returns 0 in DuckDB but NULL in Trino for JSON null,
--   hence the COALESCEs.
-- * Arrays are ordered most recent first, so element [0] is the latest entry
--   and element [n - 1] the earliest.  The index is built as a string because
--   DuckDB reads '$[-1]' as "last element" where Trino returns NULL; the
--   CASE guards keep empty arrays out of that path.
-- * No integer division: Trino truncates, DuckDB does not.  Ratios cast to
--   double first so both engines agree.
WITH counted AS (
    SELECT
        id,
        age,
        job_level,
        industry,
        company_size,
        connection_count,
        work_experience,
        education,
        -- Ages are measured at the reference date the labels were taken at.
        2025 AS reference_year,
        COALESCE(CAST(json_array_length(skills) AS bigint), 0) AS n_skills,
        COALESCE(CAST(json_array_length(emails) AS bigint), 0) AS n_emails,
        COALESCE(CAST(json_array_length(work_experience) AS bigint), 0) AS n_jobs,
        COALESCE(CAST(json_array_length(education) AS bigint), 0) AS n_education
    FROM {{ staging }}
),

extracted AS (
    SELECT
        *,
        TRY_CAST(json_extract_scalar(work_experience, '$[0].start_year') AS integer)
            AS latest_job_start,
        CASE WHEN n_jobs > 0 THEN json_extract_scalar(work_experience, '$[0].end_year') END
            AS latest_job_end,
        CASE WHEN n_jobs > 0 THEN TRY_CAST(json_extract_scalar(
            work_experience, '$[' || CAST(n_jobs - 1 AS varchar) || '].start_year'
        ) AS integer) END AS first_job_start,
        CASE WHEN n_education > 0 THEN TRY_CAST(json_extract_scalar(
            education, '$[' || CAST(n_education - 1 AS varchar) || '].start_year'
        ) AS integer) END AS first_education_start,
        CASE WHEN n_education > 0 THEN TRY_CAST(json_extract_scalar(
            education, '$[' || CAST(n_education - 1 AS varchar) || '].end_year'
        ) AS integer) END AS first_education_end,
        TRY_CAST(json_extract_scalar(education, '$[0].end_year') AS integer)
            AS latest_education_end,
        lower(json_extract_scalar(education, '$[0].degree')) AS latest_degree_raw,
        CASE WHEN n_education > 0 THEN lower(json_extract_scalar(
            education, '$[' || CAST(n_education - 1 AS varchar) || '].degree'
        )) END AS first_degree_raw
    FROM counted
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
    -- Degree spellings vary ("BSc", "Bachelor of Science", ...): normalise.
    CASE
        WHEN first_degree_raw IS NULL THEN NULL
        WHEN first_degree_raw LIKE '%high school%' THEN 'high_school'
        WHEN first_degree_raw LIKE 'bachelor%' OR first_degree_raw IN ('bsc', 'ba', 'b.eng.')
            THEN 'bachelor'
        WHEN first_degree_raw LIKE 'master%' OR first_degree_raw IN ('msc', 'mba', 'm.eng.')
            THEN 'master'
        WHEN first_degree_raw LIKE '%phd%' OR first_degree_raw LIKE 'doctor%' THEN 'phd'
        WHEN first_degree_raw LIKE 'associate%' OR first_degree_raw LIKE '%vocational%'
            OR first_degree_raw = 'hnd' THEN 'associate'
        ELSE 'certificate'
    END AS first_degree,
    CASE
        WHEN latest_degree_raw IS NULL THEN NULL
        WHEN latest_degree_raw LIKE '%high school%' THEN 'high_school'
        WHEN latest_degree_raw LIKE 'bachelor%' OR latest_degree_raw IN ('bsc', 'ba', 'b.eng.')
            THEN 'bachelor'
        WHEN latest_degree_raw LIKE 'master%' OR latest_degree_raw IN ('msc', 'mba', 'm.eng.')
            THEN 'master'
        WHEN latest_degree_raw LIKE '%phd%' OR latest_degree_raw LIKE 'doctor%' THEN 'phd'
        WHEN latest_degree_raw LIKE 'associate%' OR latest_degree_raw LIKE '%vocational%'
            OR latest_degree_raw = 'hnd' THEN 'associate'
        ELSE 'certificate'
    END AS latest_degree
FROM extracted
