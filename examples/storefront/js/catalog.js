/* Trailhead Outfitters product catalog, shared by every page (and by generate.mjs). */
(function (g) {
  'use strict';
  var products = [
    { id: 101, name: 'Ridgeline Mid Waterproof Hiker', category: 'shoes', price: 139, color: '#8a5a3b', art: 'boot',
      blurb: 'Waterproof mid-cut hiker for long days on rough trail.',
      description: 'A mid-cut hiker with a waterproof, breathable membrane, a grippy lugged outsole and a cushioned midsole that stays comfortable from the trailhead to the summit and back. Broken in straight out of the box.',
      features: ['Waterproof, breathable membrane', '4 mm multi-directional lugs', 'Upper made with 30% recycled mesh'],
      sizes: ['US 7', 'US 8', 'US 9', 'US 10', 'US 11', 'US 12'], rating: 4.7, reviews: 412,
      specs: { weight: '1.1 kg / pair', waterproof: 'Yes', cut: 'Mid', drop: '10 mm', bestFor: 'Day hikes & backpacking' },
      tags: 'boot hiking waterproof mid leather trail' },
    { id: 102, name: 'Switchback Trail Runner', category: 'shoes', price: 119, color: '#e4572e', art: 'runner',
      blurb: 'Light, fast and grippy for runs and quick hikes.',
      description: 'Built for fast miles on dirt and rock. A breathable mesh upper, a rock plate under the forefoot and sticky rubber lugs give you confidence on technical descents without weighing you down.',
      features: ['Protective forefoot rock plate', 'Quick-drying engineered mesh', 'Sticky rubber outsole'],
      sizes: ['US 7', 'US 8', 'US 9', 'US 10', 'US 11', 'US 12'], rating: 4.5, reviews: 268,
      specs: { weight: '620 g / pair', waterproof: 'No (fast drying)', cut: 'Low', drop: '6 mm', bestFor: 'Trail runs & fast hikes' },
      tags: 'runner running trail shoe sneaker lightweight' },
    { id: 103, name: 'Canyon Trek Sandal', category: 'shoes', price: 69, color: '#3d7068', art: 'sandal',
      blurb: 'Adjustable strap sandal for rivers and camp.',
      description: 'A three-strap sandal with a contoured footbed and quick-dry webbing. Made for river crossings, lazy campsite evenings and warm days around town.',
      features: ['Three adjustable straps', 'Contoured, anti-slip footbed', 'Quick-dry polyester webbing'],
      sizes: ['US 7', 'US 8', 'US 9', 'US 10', 'US 11', 'US 12'], rating: 4.4, reviews: 139,
      specs: { weight: '480 g / pair', waterproof: 'Water-friendly', cut: 'Open', drop: '4 mm', bestFor: 'Rivers & camp' },
      tags: 'sandal summer water river camp' },
    { id: 104, name: 'Summit Insulated Winter Boot', category: 'shoes', price: 189, color: '#2f3e46', art: 'boot',
      blurb: 'Warm, waterproof boot rated to -30 °C.',
      description: 'Snowshoeing, winter hikes or shovelling the driveway: 200 g insulation, a fully waterproof build and a cold-weather rubber that stays grippy on ice keep your feet warm and dry.',
      features: ['200 g synthetic insulation, rated to -30 °C', 'Fully waterproof, seam-sealed', 'Cold-weather ice-grip rubber'],
      sizes: ['US 7', 'US 8', 'US 9', 'US 10', 'US 11', 'US 12'], rating: 4.8, reviews: 187,
      specs: { weight: '1.5 kg / pair', waterproof: 'Yes', cut: 'High', drop: '12 mm', bestFor: 'Snow & cold' },
      tags: 'boot winter snow insulated waterproof warm' },
    { id: 105, name: 'Basecamp 28L Daypack', category: 'bags', price: 89, color: '#2a6f97', art: 'pack',
      blurb: 'Our best-selling daypack, from commute to crag.',
      description: 'A do-everything 28 litre daypack with a padded laptop sleeve, hydration port, stretch side pockets and a ventilated back panel that keeps you cool on the climb.',
      features: ['Padded 16" laptop sleeve', 'Hydration-compatible', 'Ventilated mesh back panel'],
      sizes: ['One size'], rating: 4.8, reviews: 956,
      specs: { weight: '850 g', waterproof: 'Water resistant', cut: '28 L', drop: '-', bestFor: 'Day hikes & commuting' },
      tags: 'backpack daypack bag pack laptop' },
    { id: 106, name: 'Ridge Sling 6L', category: 'bags', price: 49, color: '#6a994e', art: 'sling',
      blurb: 'Compact crossbody sling for the essentials.',
      description: 'Snacks, map, phone and keys, all within reach. The Ridge Sling sits flat against your back on the trail and swings round to the front when you need something.',
      features: ['Wear crossbody or on the hip', 'Zipped security pocket', 'Recycled ripstop nylon'],
      sizes: ['One size'], rating: 4.6, reviews: 321,
      specs: { weight: '240 g', waterproof: 'Water resistant', cut: '6 L', drop: '-', bestFor: 'Everyday & travel' },
      tags: 'sling bag crossbody hip small travel' },
    { id: 107, name: 'Voyager 45L Trekking Pack', category: 'bags', price: 179, color: '#bc4749', art: 'pack',
      blurb: 'Adjustable multi-day pack with rain cover.',
      description: 'A multi-day trekking pack with an adjustable torso, load-lifter straps and a padded hip belt that moves the weight where it belongs. A rain cover hides in the base pocket.',
      features: ['Adjustable torso length', 'Padded hip belt with pockets', 'Integrated rain cover'],
      sizes: ['S/M torso', 'M/L torso'], rating: 4.7, reviews: 204,
      specs: { weight: '1.6 kg', waterproof: 'Rain cover included', cut: '45 L', drop: '-', bestFor: 'Multi-day treks' },
      tags: 'backpack trekking pack bag hiking multi-day' },
    { id: 108, name: 'Sunward Wide-Brim Sun Hat', category: 'hats', price: 39, color: '#d4a373', art: 'brim',
      blurb: 'UPF 50+ shade that packs flat.',
      description: 'A packable wide-brim hat with UPF 50+ fabric, a wicking sweatband and a removable chin cord for windy ridgelines. Crush it into your pack; it pops right back into shape.',
      features: ['UPF 50+ sun protection', 'Packable, shape-memory brim', 'Removable chin cord'],
      sizes: ['S/M', 'L/XL'], rating: 4.5, reviews: 178,
      specs: { weight: '95 g', waterproof: 'Water resistant', cut: '8 cm brim', drop: '-', bestFor: 'Sun & summer' },
      tags: 'hat sun brim summer upf' },
    { id: 109, name: 'Ember Merino Beanie', category: 'hats', price: 29, color: '#9d0208', art: 'beanie',
      blurb: 'Soft merino wool beanie for cold mornings.',
      description: 'Knitted from soft, itch-free merino wool with a fold-over cuff and a classic pom-pom. Warm when it is cold, breathable when you are working hard.',
      features: ['100% merino wool', 'Fold-over cuff', 'Naturally odour resistant'],
      sizes: ['One size'], rating: 4.9, reviews: 512,
      specs: { weight: '80 g', waterproof: 'No', cut: 'Cuffed', drop: '-', bestFor: 'Winter & cold mornings' },
      tags: 'hat beanie wool winter warm merino' },
    { id: 110, name: 'Trail Five-Panel Cap', category: 'hats', price: 27, color: '#386641', art: 'cap',
      blurb: 'Quick-dry cap with an adjustable strap.',
      description: 'A lightweight five-panel cap in quick-dry nylon with a soft, unstructured crown and an adjustable back strap. From trail runs to tailgates.',
      features: ['Quick-dry nylon', 'Adjustable back strap', 'Reflective logo patch'],
      sizes: ['One size'], rating: 4.3, reviews: 97,
      specs: { weight: '60 g', waterproof: 'Quick dry', cut: 'Five-panel', drop: '-', bestFor: 'Running & sun' },
      tags: 'hat cap baseball running sun' }
  ];

  var categories = {
    shoes: { name: 'Shoes', intro: 'Hiking boots, trail runners and sandals built for dirt, rock and river crossings.' },
    bags: { name: 'Bags', intro: 'Daypacks, slings and trekking packs that carry what you need and nothing you don\u2019t.' },
    hats: { name: 'Hats', intro: 'Sun, rain or snow: headwear that packs small and works hard.' }
  };

  // Shared looks live in css/shop.css: .sh = shade, .hi = highlight stroke, .so = sole/strap.
  var SOLE = '#2b2b2b', SHADE = 'class="sh"', SHINE = 'class="hi"';
  var shapes = {
    boot: function (c) {
      return '<path d="M34 110V46q0-10 10-10h34q9 0 10 9l5 33q36 4 62 14q17 6 17 18z" fill="' + c + '"/>' +
        '<path d="M34 96h128" ' + SHINE + ' stroke-width="3"/>' +
        '<path d="M64 50l20 3M64 61l21 3M64 72l22 3" ' + SHINE + ' stroke-width="4"/>' +
        '<path d="M30 110h146q4 0 4 6v2q0 6-6 6H36q-6 0-6-6z" fill="' + SOLE + '"/>';
    },
    runner: function (c) {
      return '<path d="M38 108l2-32q1-8 10-8l36 2q16 12 44 16q38 6 42 22z" fill="' + c + '"/>' +
        '<path d="M60 100q40-18 86-4" ' + SHINE + ' stroke-width="5"/>' +
        '<path d="M32 104h144q6 0 6 7v5q0 8-8 8H38q-6 0-6-6z" fill="#f4f1ea"/>' +
        '<path d="M36 124h136q6 0 8-4H32q0 4 4 4z" fill="' + SOLE + '"/>';
    },
    sandal: function (c) {
      return '<path d="M50 106q12-40 32 0M90 106q14-44 34 0M132 106q10-30 28 0" fill="none" stroke="' + c + '" stroke-width="11" stroke-linecap="round"/>' +
        '<path d="M28 112q0-8 10-8h128q12 0 12 10v2q0 8-8 8H38q-10 0-10-8z" fill="' + SOLE + '"/>' +
        '<path d="M34 106h136" stroke="' + c + '" stroke-width="5" stroke-linecap="round"/>';
    },
    pack: function (c) {
      return '<path d="M86 30q14-20 28 0" fill="none" stroke="' + SOLE + '" stroke-width="6"/>' +
        '<rect x="56" y="26" width="88" height="104" rx="22" fill="' + c + '"/>' +
        '<path d="M56 58q0-32 44-32t44 32q-44 12-88 0z" ' + SHADE + '/>' +
        '<rect x="72" y="82" width="56" height="36" rx="10" ' + SHADE + '/>' +
        '<path d="M80 92h40" ' + SHINE + ' stroke-width="3"/>' +
        '<rect x="94" y="58" width="12" height="14" rx="3" fill="' + SOLE + '"/>';
    },
    sling: function (c) {
      return '<path d="M52 84Q96-6 150 74" fill="none" stroke="' + SOLE + '" stroke-width="7"/>' +
        '<rect x="38" y="62" width="124" height="60" rx="30" fill="' + c + '"/>' +
        '<path d="M58 80q42-12 84 0" ' + SHINE + ' stroke-width="3"/>' +
        '<rect x="70" y="90" width="60" height="22" rx="11" ' + SHADE + '/>';
    },
    brim: function (c) {
      return '<ellipse cx="100" cy="102" rx="86" ry="22" fill="' + c + '"/>' +
        '<ellipse cx="100" cy="102" rx="86" ry="22" ' + SHADE + '/>' +
        '<path d="M58 102q0-62 42-62t42 62z" fill="' + c + '"/>' +
        '<path d="M59 88q41 10 82 0l1 12q-42 10-84 0z" fill="#3b2a1a"/>';
    },
    beanie: function (c) {
      return '<circle cx="100" cy="30" r="15" fill="#f4f1ea"/>' +
        '<path d="M48 100q0-64 52-64t52 64z" fill="' + c + '"/>' +
        '<rect x="42" y="92" width="116" height="32" rx="9" fill="' + c + '"/>' +
        '<rect x="42" y="92" width="116" height="32" rx="9" ' + SHADE + '/>' +
        '<path d="M60 98v20M76 98v20M92 98v20M108 98v20M124 98v20M140 98v20" stroke="#fff" stroke-opacity=".25" stroke-width="3"/>';
    },
    cap: function (c) {
      return '<path d="M116 96q44-12 72 8q-30 12-72 6z" fill="' + c + '"/>' +
        '<path d="M116 96q44-12 72 8q-30 12-72 6z" ' + SHADE + '/>' +
        '<path d="M44 108q0-66 58-66q50 0 50 66z" fill="' + c + '"/>' +
        '<path d="M102 44q-10 30-6 64" fill="none" stroke="#000" stroke-opacity=".2" stroke-width="2"/>' +
        '<rect x="64" y="70" width="26" height="16" rx="3" fill="#fff" opacity=".85"/>' +
        '<circle cx="102" cy="43" r="5" fill="' + SOLE + '"/>';
    }
  };

  /* Inline SVG "photo" of a product (no remote images). Decorative: the name is always next to it. */
  function art(p) {
    return '<svg class="art" viewBox="0 0 200 140" aria-hidden="true">' +
      '<ellipse class="gr" cx="100" cy="128" rx="80" ry="7"/>' + shapes[p.art](p.color) + '</svg>';
  }

  function byId(id) {
    id = Number(id);
    for (var i = 0; i < products.length; i++) if (products[i].id === id) return products[i];
    return null;
  }

  g.TH_CATALOG = { products: products, categories: categories, byId: byId, art: art };
})(typeof window !== 'undefined' ? window : globalThis);
