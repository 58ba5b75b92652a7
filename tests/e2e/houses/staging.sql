SELECT
    json_extract_scalar(line, '$.listing_id') AS listing_id,
    json_extract_scalar(line, '$.address.city') AS city,
    TRY_CAST(json_extract_scalar(line, '$.rooms') AS integer) AS rooms,
    TRY_CAST(json_extract_scalar(line, '$.area_m2') AS double) AS area_m2,
    TRY_CAST(json_extract_scalar(line, '$.built') AS integer) AS built,
    TRY_CAST(json_extract_scalar(line, '$.sale.price') AS double) AS sale_price
FROM {{ source }}
