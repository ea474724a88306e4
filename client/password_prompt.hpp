// The EAP password when the profile names no auth.password_file: asked on the terminal with echo off,
// before `ikevpn connect` starts the session (issue 6). Without a terminal there is nobody to ask.
#pragma once
#include "client/profile.hpp"
#include "core/crypto/secure_bytes.hpp"

#include <cstdio>
#include <optional>
#include <string>

namespace ikevpn::client {

// Reads one line from `fd` (the line ending not included) into secure memory. When `fd` is a terminal
// its echo is off while the user types and restored afterwards, and `prompt` is written to `out`.
// nullopt with `error` set on end of input before a newline, an empty line or a read error.
std::optional<SecureBytes> read_password_line(int fd, std::FILE* out, const std::string& prompt, std::string& error);

// Fills profile.eap_password for auth.method "eap-mschapv2" without a password file by prompting on
// `fd` (standard input) when it is a terminal. Returns the one-line error otherwise; nothing to do for
// other methods or when the file gave the password.
std::optional<std::string> obtain_eap_password(Profile& profile, int fd, std::FILE* out);

}  // namespace ikevpn::client
