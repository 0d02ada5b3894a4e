// Builds dist/shopify-pixel.js from src/shopify/pixel.js with the tag's own modules, minified like
// dist/t.js (package.json "build"), with the two settings a shop fills in left readable on top.
// The pixel shares ../transport.js but not its settings or storage: those two imports resolve to
// src/shopify/config.js and src/shopify/storage.js instead.
import { build } from 'esbuild'
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { minify } from 'terser'

const SHOPIFY = resolve('src/shopify')
const replaced = { './config.js': 'config.js', './storage.js': 'storage.js' }

const pixelModules = {
  name: 'pixel-modules',
  setup(b) {
    b.onResolve({ filter: /^\.\/(config|storage)\.js$/ }, (args) =>
      dirname(args.importer) == SHOPIFY ? undefined : { path: join(SHOPIFY, replaced[args.path]) },
    )
  },
}

const bundled = await build({
  entryPoints: ['src/shopify/pixel.js'],
  bundle: true,
  write: false,
  minifySyntax: true,
  format: 'iife',
  target: 'es2020',
  banner: { js: 'try{' },
  footer: { js: '}catch(e){}' },
  plugins: [pixelModules],
})
const { code } = await minify(bundled.outputFiles[0].text, {
  ecma: 2020,
  compress: { passes: 3, toplevel: true, unsafe_arrows: true, unsafe: true, unsafe_comps: true },
  mangle: { toplevel: true },
})
const header = readFileSync('src/shopify/header.js', 'utf8')
writeFileSync('dist/shopify-pixel.js', header + code + '\n')
