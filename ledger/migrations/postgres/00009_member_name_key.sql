-- Finding a member by name (CONTRACT §5.1 and §5.2: case- and
-- accent-insensitive, partial): name_key is the name folded as
-- members.nameKey folds it in Go (decomposed, combining marks removed,
-- lower case: "María Goreti" is "maria goreti"), written with the name by
-- every INSERT INTO members. A later UPDATE of members.name must set
-- name_key too.
--
-- The rows already here are folded once, here, in SQL: combining marks
-- U+0300-U+036F removed, every letter of U+00C0-U+017F (Latin-1 and Latin
-- Extended-A: Portuguese, Spanish, French, German, Polish, Turkish names…)
-- mapped to its folded letter, then lower(). For those names this is the Go
-- folding exactly (members/find_test.go checks it); a name in another script
-- written before this migration may fold differently until it is written
-- again.
--
-- No index on name_key: a name search is LIKE '%word%' (a word anywhere in
-- the name), which no B-tree answers (pg_trgm would, but it is an extension
-- not every host offers). The search walks UNIQUE (cooperative_id,
-- member_no) and reads the cooperative's members until a page is full (see
-- members.findByNameSQL); a search by number or phone never comes there.

-- +goose Up
ALTER TABLE members ADD COLUMN name_key TEXT;
-- name_key fill: begin
UPDATE members SET name_key = lower(translate(regexp_replace(name, '[\u0300-\u036f]', '', 'g'),
    'ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞàáâãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĐĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĦĨĩĪīĬĭĮįİĲĴĵĶķĹĺĻļĽľĿŁŃńŅņŇňŊŌōŎŏŐőŒŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŦŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽž',
    'aaaaaaæceeeeiiiiðnoooooøuuuuyþaaaaaaceeeeiiiinooooouuuuyyaaaaaaccccccccddđeeeeeeeeeegggggggghhħiiiiiiiiiĳjjkkllllllŀłnnnnnnŋooooooœrrrrrrssssssssttttŧuuuuuuuuuuuuwwyyyzzzzzz'));
-- name_key fill: end
ALTER TABLE members ALTER COLUMN name_key SET NOT NULL;

-- +goose Down
ALTER TABLE members DROP COLUMN name_key;
