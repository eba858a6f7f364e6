-- Single-item decrypt of a 64-byte plaintext's ciphertext ($KMS_CIPHERTEXT, made by run.sh).
dofile(os.getenv("WRK_DIR") .. "/report.lua")
wrk.path = "/v1/keys/" .. KEY .. "/decrypt"
wrk.body = '{"ciphertext":"' .. assert(os.getenv("KMS_CIPHERTEXT"), "set KMS_CIPHERTEXT") .. '"}'
