# `cmake --install <build> --prefix <p>`: public headers, static libraries, the object files of the
# OBJECT libraries, the `dynfault` executable with the configs and data it reads (under
# <p>/share/dynfault) and a relocatable CMake package, so that
#
#   find_package(dynfault REQUIRED)                 # CMAKE_PREFIX_PATH=<p>
#   target_link_libraries(app PRIVATE dynfault::recorder)
#
# works (docs/recorder.md). Exported targets: dynfault::{common,db,programs,mutators,campaign,
# runner,features,diagnosis,recorder} plus the interface wrappers they carry (base, torch, openmp,
# xgboost). Library locations found by the build (torch's libraries, libxgboost) are not baked
# in: dynfaultConfig.cmake finds them again on the consuming machine.
# A library added to the link interface of an exported target must join this list (CMake refuses to
# configure otherwise: "requires target ... that is not in any export set").
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(DYNFAULT_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/dynfault)
set(dynfault_export_targets
  dynfault_base dynfault_torch dynfault_openmp dynfault_xgboost
  dynfault_common dynfault_db dynfault_programs dynfault_mutators dynfault_campaign
  dynfault_features dynfault_diagnosis dynfault_runner dynfault_recorder)
foreach(t IN LISTS dynfault_export_targets)
  string(REGEX REPLACE "^dynfault_" "" short ${t})
  set_target_properties(${t} PROPERTIES EXPORT_NAME ${short})
endforeach()

# Programs, mutators, feature sets and diagnosers are OBJECT libraries (their static registrars
# must not be dropped): their object files are installed too. Linking one of them directly gives
# its whole catalogue; reached through dynfault::campaign (or dynfault::runner, which links it),
# programs and mutators only pass on their usage requirements (the campaign archive already
# contains their objects).
install(TARGETS ${dynfault_export_targets}
  EXPORT dynfaultTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  OBJECTS DESTINATION ${CMAKE_INSTALL_LIBDIR}/dynfault/objects)
install(TARGETS dynfault RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# What the installed binary reads at run time, found next to it (common/install_dirs.h), so that
# it works from any directory without the source tree: the campaigns, taxonomies and thresholds
# (`--configs DIR` and $DYNFAULT_CONFIGS come first), and the vendored data sets with their
# licences ($DYNFAULT_DATA_DIR comes first).
install(DIRECTORY ${PROJECT_SOURCE_DIR}/configs/
  DESTINATION ${CMAKE_INSTALL_DATADIR}/dynfault/configs
  FILES_MATCHING PATTERN "*.yaml")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/data/
  DESTINATION ${CMAKE_INSTALL_DATADIR}/dynfault/data)

# Headers keep the source layout ("db/store.h" resolves against include/dynfault).
install(DIRECTORY common db programs mutators features diagnosis runner
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/dynfault
  FILES_MATCHING PATTERN "*.h"
  PATTERN "torch_pch.h" EXCLUDE)

install(EXPORT dynfaultTargets
  NAMESPACE dynfault::
  DESTINATION ${DYNFAULT_INSTALL_CMAKEDIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/dynfaultConfig.cmake.in
  ${PROJECT_BINARY_DIR}/dynfaultConfig.cmake
  INSTALL_DESTINATION ${DYNFAULT_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/dynfaultConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/dynfaultConfig.cmake
              ${PROJECT_BINARY_DIR}/dynfaultConfigVersion.cmake
  DESTINATION ${DYNFAULT_INSTALL_CMAKEDIR})
