-- Half encrypt, half decrypt, alternating on each connection.
dofile(os.getenv("WRK_DIR") .. "/report.lua")
local enc, dec
local n = 0
function init(args)
  enc = wrk.format(nil, "/v1/keys/" .. KEY .. "/encrypt", nil,
    '{"plaintext":"' .. PLAINTEXT .. '"}')
  dec = wrk.format(nil, "/v1/keys/" .. KEY .. "/decrypt", nil,
    '{"ciphertext":"' .. assert(os.getenv("KMS_CIPHERTEXT"), "set KMS_CIPHERTEXT") .. '"}')
end
function request()
  n = n + 1
  if n % 2 == 0 then return enc end
  return dec
end
