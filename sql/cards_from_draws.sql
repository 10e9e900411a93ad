-- Cards: hash a synthetic PAN in an unissued range ('9' prefix) so output never
-- carries anything that looks like a real card number. The serial is the card id, so
-- PANs (and their hashes) are unique.
SELECT
    card_id,
    customer_id,
    sha256(printf('9%05d%010d', bin, card_id)) AS pan_hash,
    card_scheme,
    risk,
    popularity
FROM card_draws
