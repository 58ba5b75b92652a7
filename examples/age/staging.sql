-- Staging for the age example (Athena / Trino dialect).
--
-- One typed row per raw profile line: no filtering, no joins.  Scalars are
-- extracted with TRY_CAST so a value of the wrong type becomes NULL instead
-- of failing the query; nested arrays stay JSON text for features.sql.
SELECT
    json_extract_scalar(line, '$.id') AS id,
    json_extract_scalar(line, '$.full_name') AS full_name,
    json_extract_scalar(line, '$.headline') AS headline,
    json_extract_scalar(line, '$.location') AS location,
    json_extract_scalar(line, '$.industry') AS industry,
    json_extract_scalar(line, '$.company_size') AS company_size,
    json_extract_scalar(line, '$.job_level') AS job_level,
    TRY_CAST(json_extract_scalar(line, '$.connection_count') AS integer) AS connection_count,
    TRY_CAST(json_extract_scalar(line, '$.profile_updated_at') AS date) AS profile_updated_at,
    -- json_format (not CAST AS varchar, which Trino rejects for arrays)
    -- turns the extracted JSON back into text.
    json_format(json_extract(line, '$.emails')) AS emails,
    json_format(json_extract(line, '$.skills')) AS skills,
    json_format(json_extract(line, '$.work_experience')) AS work_experience,
    -- education is a string that itself holds JSON: unwrap the string, then
    -- parse it; TRY keeps one garbled document from failing the whole query.
    json_format(TRY(json_parse(json_extract_scalar(line, '$.education')))) AS education,
    TRY_CAST(json_extract_scalar(line, '$.age') AS integer) AS age,
    source_file,
    line_number
FROM {{ source }}
