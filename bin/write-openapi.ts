import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { generateOpenApiDocument } from '../src/openapi-document.js';

/** Regenerates openapi.yaml from the routes' schemas: `npm run openapi`. */
const header = '# Generated from the route schemas by `npm run openapi`; a test fails when it falls behind.\n';
writeFileSync('openapi.yaml', header + stringify(await generateOpenApiDocument(), { lineWidth: 0 }));
console.log('wrote openapi.yaml');
