// SPDX-License-Identifier: Apache-2.0
// Usage: node validate.js BOM.json
// Validates a CycloneDX 1.5 JSON document against the specification's JSON
// schema (strict mode) with @cyclonedx/cyclonedx-library. Exit codes: 0 valid,
// 1 invalid (the errors go to stdout), 2 usage or read error, 77 the
// library's optional JSON validation dependencies are missing.
'use strict';

const fs = require('fs');
const { Spec, Validation } = require('@cyclonedx/cyclonedx-library');

async function main() {
  if (process.argv.length !== 3) {
    console.error('usage: node validate.js BOM.json');
    return 2;
  }
  const text = fs.readFileSync(process.argv[2], 'utf8');
  const validator = new Validation.JsonStrictValidator(Spec.Version.v1dot5);
  try {
    const errors = await validator.validate(text);
    if (errors === null) {
      console.log('valid');
      return 0;
    }
    console.log(JSON.stringify(errors, null, 2));
    return 1;
  } catch (error) {
    if (error instanceof Validation.MissingOptionalDependencyError) {
      console.error(`missing validator dependency: ${error.message}`);
      return 77;
    }
    throw error;
  }
}

main().then((code) => process.exit(code), (error) => {
  console.error(error);
  process.exit(2);
});
