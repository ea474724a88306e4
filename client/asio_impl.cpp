// Standalone Asio, compiled once for the whole program (every other TU sees ASIO_SEPARATE_COMPILATION
// through asio_dep and only declares what this one defines).
#include <asio/impl/src.hpp>
