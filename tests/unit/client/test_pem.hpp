// A throwaway self-signed ECDSA P-256 CA ("CN=ca.example.com") and its key, made for these tests with
// strongSwan's `pki --gen --type ecdsa` / `pki --self --ca` (key converted to PKCS#8). Never used elsewhere.
#pragma once

namespace ikevpn::test {

inline constexpr const char* test_ca_pem = R"(-----BEGIN CERTIFICATE-----
MIIBaTCCARCgAwIBAgIIFu6Skp40E4QwCgYIKoZIzj0EAwIwGTEXMBUGA1UEAxMO
Y2EuZXhhbXBsZS5jb20wHhcNMjYxMTI2MjM1MjQ3WhcNMzYxMTIzMjM1MjQ3WjAZ
MRcwFQYDVQQDEw5jYS5leGFtcGxlLmNvbTBZMBMGByqGSM49AgEGCCqGSM49AwEH
A0IABJDHMo1AzCfsHe7MSBLC7s61wwEH/0ulTZTMTHR58jWmQmiorEJhh3Absjd+
NUQ2Q6NyyS4SGbxhuKwN5IruX/ujQjBAMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0P
AQH/BAQDAgEGMB0GA1UdDgQWBBRgu4K3jpKMIwauNxgK89iEc8cMzzAKBggqhkjO
PQQDAgNHADBEAiAHcp/n5W4euUJXb3N8vGp0X24vwl44anuKxWNb9SO/2QIgLw6R
DGA6EdaiTxQU2y7SRWSK6PmRImqvFZZumEIsJvo=
-----END CERTIFICATE-----
)";

// The same certificate as base64 DER on one line, the way .sswan files carry remote.cert.
inline constexpr const char* test_ca_base64 =
    "MIIBaTCCARCgAwIBAgIIIxlzGiekcwAwCgYIKoZIzj0EAwIwGTEXMBUGA1UEAxMOY2EuZXhhbXBsZS5jb20wHhcNMjYxMTI2MjM1MjQ3WhcNMzYx"
    "MTIzMjM1MjQ3WjAZMRcwFQYDVQQDEw5jYS5leGFtcGxlLmNvbTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABJDHMo1AzCfsHe7MSBLC7s61wwEH"
    "/0ulTZTMTHR58jWmQmiorEJhh3Absjd+NUQ2Q6NyyS4SGbxhuKwN5IruX/ujQjBAMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgEGMB0G"
    "A1UdDgQWBBRgu4K3jpKMIwauNxgK89iEc8cMzzAKBggqhkjOPQQDAgNHADBEAiBYK3L5EIIHuwUbGSvcL35BLd1BY4DNpTerK097DVBX/wIgUnFM"
    "gEhuWsBYybR9ANmKAnjDR85YnFmJevZ/FONs7Z8=";

inline constexpr const char* test_key_pem = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgXQzOnYl5IczCXnxd
xN67I0nYNDusES8uzucq3mCk61ShRANCAASQxzKNQMwn7B3uzEgSwu7OtcMBB/9L
pU2UzEx0efI1pkJoqKxCYYdwG7I3fjVENkOjcskuEhm8YbisDeSK7l/7
-----END PRIVATE KEY-----
)";

}  // namespace ikevpn::test
