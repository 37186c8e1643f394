-- Finding a member by name (CONTRACT §5.1 and §5.2: case- and
-- accent-insensitive, partial): name_key is the name folded as
-- members.nameKey folds it in Go (decomposed, combining marks removed,
-- lower case: "María Goreti" is "maria goreti"), written with the name by
-- every INSERT INTO members (a trigger refuses one without it: SQLite cannot
-- add a NOT NULL column without a default). A later UPDATE of members.name
-- must set name_key too.
--
-- The rows already here are folded once, here, in SQL: lower() (ASCII in
-- SQLite), then for names that are not plain ASCII combining marks
-- U+0300-U+036F removed and every letter of U+00C0-U+017F (Latin-1 and
-- Latin Extended-A: Portuguese, Spanish, French, German, Polish, Turkish
-- names…) mapped to its folded letter, one statement per folded letter. For
-- those names this is the Go folding exactly (members/find_test.go checks
-- it); a name in another script written before this migration may fold
-- differently until it is written again.
--
-- No index on name_key: a name search is LIKE '%word%' (a word anywhere in
-- the name), which no B-tree answers (pg_trgm would, but it is an extension
-- not every host offers). The search walks UNIQUE (cooperative_id,
-- member_no) and reads the cooperative's members until a page is full (see
-- members.findByNameSQL); a search by number or phone never comes there.

-- +goose Up
ALTER TABLE members ADD COLUMN name_key TEXT;
-- name_key fill: begin
UPDATE members SET name_key = lower(name);
UPDATE members SET name_key = replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(name_key, char(768), ''), char(769), ''), char(770), ''), char(771), ''), char(772), ''), char(773), ''), char(774), ''), char(775), ''), char(776), ''), char(777), ''), char(778), ''), char(779), ''), char(780), ''), char(781), ''), char(782), ''), char(783), '')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(name_key, char(784), ''), char(785), ''), char(786), ''), char(787), ''), char(788), ''), char(789), ''), char(790), ''), char(791), ''), char(792), ''), char(793), ''), char(794), ''), char(795), ''), char(796), ''), char(797), ''), char(798), ''), char(799), '')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(name_key, char(800), ''), char(801), ''), char(802), ''), char(803), ''), char(804), ''), char(805), ''), char(806), ''), char(807), ''), char(808), ''), char(809), ''), char(810), ''), char(811), ''), char(812), ''), char(813), ''), char(814), ''), char(815), '')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(name_key, char(816), ''), char(817), ''), char(818), ''), char(819), ''), char(820), ''), char(821), ''), char(822), ''), char(823), ''), char(824), ''), char(825), ''), char(826), ''), char(827), ''), char(828), ''), char(829), ''), char(830), ''), char(831), '')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(name_key, char(832), ''), char(833), ''), char(834), ''), char(835), ''), char(836), ''), char(837), ''), char(838), ''), char(839), ''), char(840), ''), char(841), ''), char(842), ''), char(843), ''), char(844), ''), char(845), ''), char(846), ''), char(847), '')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(name_key, char(848), ''), char(849), ''), char(850), ''), char(851), ''), char(852), ''), char(853), ''), char(854), ''), char(855), ''), char(856), ''), char(857), ''), char(858), ''), char(859), ''), char(860), ''), char(861), ''), char(862), ''), char(863), '')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(name_key, char(864), ''), char(865), ''), char(866), ''), char(867), ''), char(868), ''), char(869), ''), char(870), ''), char(871), ''), char(872), ''), char(873), ''), char(874), ''), char(875), ''), char(876), ''), char(877), ''), char(878), ''), char(879), '')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(name_key, 'À', 'a'), 'Á', 'a'), 'Â', 'a'), 'Ã', 'a'), 'Ä', 'a'), 'Å', 'a'), 'à', 'a'), 'á', 'a'), 'â', 'a'), 'ã', 'a'), 'ä', 'a'), 'å', 'a'), 'Ā', 'a'), 'ā', 'a'), 'Ă', 'a'), 'ă', 'a'), 'Ą', 'a'), 'ą', 'a')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(name_key, 'Ç', 'c'), 'ç', 'c'), 'Ć', 'c'), 'ć', 'c'), 'Ĉ', 'c'), 'ĉ', 'c'), 'Ċ', 'c'), 'ċ', 'c'), 'Č', 'c'), 'č', 'c')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(replace(name_key, 'Ď', 'd'), 'ď', 'd')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(name_key, 'È', 'e'), 'É', 'e'), 'Ê', 'e'), 'Ë', 'e'), 'è', 'e'), 'é', 'e'), 'ê', 'e'), 'ë', 'e'), 'Ē', 'e'), 'ē', 'e'), 'Ĕ', 'e'), 'ĕ', 'e'), 'Ė', 'e'), 'ė', 'e'), 'Ę', 'e'), 'ę', 'e'), 'Ě', 'e'), 'ě', 'e')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(replace(replace(replace(replace(replace(replace(replace(name_key, 'Ĝ', 'g'), 'ĝ', 'g'), 'Ğ', 'g'), 'ğ', 'g'), 'Ġ', 'g'), 'ġ', 'g'), 'Ģ', 'g'), 'ģ', 'g')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(replace(name_key, 'Ĥ', 'h'), 'ĥ', 'h')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(name_key, 'Ì', 'i'), 'Í', 'i'), 'Î', 'i'), 'Ï', 'i'), 'ì', 'i'), 'í', 'i'), 'î', 'i'), 'ï', 'i'), 'Ĩ', 'i'), 'ĩ', 'i'), 'Ī', 'i'), 'ī', 'i'), 'Ĭ', 'i'), 'ĭ', 'i'), 'Į', 'i'), 'į', 'i'), 'İ', 'i')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(replace(name_key, 'Ĵ', 'j'), 'ĵ', 'j')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(replace(name_key, 'Ķ', 'k'), 'ķ', 'k')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(replace(replace(replace(replace(replace(name_key, 'Ĺ', 'l'), 'ĺ', 'l'), 'Ļ', 'l'), 'ļ', 'l'), 'Ľ', 'l'), 'ľ', 'l')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(replace(replace(replace(replace(replace(replace(replace(name_key, 'Ñ', 'n'), 'ñ', 'n'), 'Ń', 'n'), 'ń', 'n'), 'Ņ', 'n'), 'ņ', 'n'), 'Ň', 'n'), 'ň', 'n')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(name_key, 'Ò', 'o'), 'Ó', 'o'), 'Ô', 'o'), 'Õ', 'o'), 'Ö', 'o'), 'ò', 'o'), 'ó', 'o'), 'ô', 'o'), 'õ', 'o'), 'ö', 'o'), 'Ō', 'o'), 'ō', 'o'), 'Ŏ', 'o'), 'ŏ', 'o'), 'Ő', 'o'), 'ő', 'o')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(replace(replace(replace(replace(replace(name_key, 'Ŕ', 'r'), 'ŕ', 'r'), 'Ŗ', 'r'), 'ŗ', 'r'), 'Ř', 'r'), 'ř', 'r')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(replace(replace(replace(replace(replace(replace(replace(name_key, 'Ś', 's'), 'ś', 's'), 'Ŝ', 's'), 'ŝ', 's'), 'Ş', 's'), 'ş', 's'), 'Š', 's'), 'š', 's')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(replace(replace(replace(name_key, 'Ţ', 't'), 'ţ', 't'), 'Ť', 't'), 'ť', 't')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(name_key, 'Ù', 'u'), 'Ú', 'u'), 'Û', 'u'), 'Ü', 'u'), 'ù', 'u'), 'ú', 'u'), 'û', 'u'), 'ü', 'u'), 'Ũ', 'u'), 'ũ', 'u'), 'Ū', 'u'), 'ū', 'u'), 'Ŭ', 'u'), 'ŭ', 'u'), 'Ů', 'u'), 'ů', 'u'), 'Ű', 'u'), 'ű', 'u'), 'Ų', 'u'), 'ų', 'u')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(replace(name_key, 'Ŵ', 'w'), 'ŵ', 'w')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(replace(replace(replace(replace(replace(name_key, 'Ý', 'y'), 'ý', 'y'), 'ÿ', 'y'), 'Ŷ', 'y'), 'ŷ', 'y'), 'Ÿ', 'y')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(replace(replace(replace(replace(replace(name_key, 'Ź', 'z'), 'ź', 'z'), 'Ż', 'z'), 'ż', 'z'), 'Ž', 'z'), 'ž', 'z')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(name_key, 'Æ', 'æ')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(name_key, 'Ð', 'ð')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(name_key, 'Ø', 'ø')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(name_key, 'Þ', 'þ')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(name_key, 'Đ', 'đ')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(name_key, 'Ħ', 'ħ')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(name_key, 'Ĳ', 'ĳ')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(name_key, 'Ŀ', 'ŀ')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(name_key, 'Ł', 'ł')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(name_key, 'Ŋ', 'ŋ')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(name_key, 'Œ', 'œ')
WHERE length(CAST(name AS BLOB)) <> length(name);
UPDATE members SET name_key = replace(name_key, 'Ŧ', 'ŧ')
WHERE length(CAST(name AS BLOB)) <> length(name);
-- name_key fill: end
-- +goose StatementBegin
CREATE TRIGGER members_name_key_required BEFORE INSERT ON members
WHEN NEW.name_key IS NULL
BEGIN
    SELECT RAISE(ABORT, 'members.name_key is required: the folded name (members.nameKey)');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER members_name_key_required;
ALTER TABLE members DROP COLUMN name_key;
