SELECT
    listing_id,
    sale_price,
    city,
    rooms,
    area_m2,
    2025 - built AS age_years,
    CASE WHEN rooms > 0 THEN area_m2 / rooms END AS m2_per_room
FROM {{ staging }}
