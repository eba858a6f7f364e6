-- A batch of 100 encrypts of 64 bytes in one request (run.sh sets WRK_ITEMS=100).
dofile(os.getenv("WRK_DIR") .. "/report.lua")
wrk.path = "/v1/keys/" .. KEY .. "/encrypt"
local items = {}
for i = 1, 100 do items[i] = '{"plaintext":"' .. PLAINTEXT .. '"}' end
wrk.body = '{"items":[' .. table.concat(items, ",") .. ']}'
