// SPDX-License-Identifier: Apache-2.0
// Stands in for a module that has no sources yet, so its library target links.
