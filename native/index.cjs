// The compiled addon, or null where it could not be built or loaded (Marble then runs without
// the page-cache and allocator hints it gives).
let addon = null;
try {
  addon = require('./build/Release/marble_native.node');
} catch {
  addon = null;
}
module.exports = addon;
