// Trace lines for the connect session: what each IKE datagram and each action of core::IkeSession is,
// in one line. Only public facts are described (header fields, payload types, SPIs, algorithm IDs, traffic
// selectors); key material is never formatted, whatever the action carries.
#pragma once
#include "core/bytes.hpp"
#include "core/session.hpp"

#include <string>

namespace ikevpn::client {

// "sent IKE_AUTH request #1 (256 bytes, SPIs 0102030405060708/a1a2a3a4a5a6a7a8): IDi AUTH ... inside SK"
// for outbound (`sent`) or inbound ("received") datagrams; undecodable input is described as such.
std::string describe_datagram(ByteView datagram, bool sent);

// "install CHILD SA spi_in c0ffee01 spi_out ... ENCR 20/256 ..." and so on; empty for actions that need
// no trace line (SendDatagram is traced by describe_datagram).
std::string describe_action(const core::Action& action);

}  // namespace ikevpn::client
