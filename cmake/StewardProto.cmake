# steward_proto_library(NAME target PROTOS a.proto ... IMPORT_DIRS dir ... [GRPC])
#
# Generates C++ (and with GRPC, gRPC callback service) sources from .proto files with Debian's protoc
# and grpc_cpp_plugin at build time, and wraps them in a static library. Paths in PROTOS are relative
# to the first IMPORT_DIRS entry, which is also the include root of the generated headers.
function(steward_proto_library)
  cmake_parse_arguments(ARG "GRPC" "NAME" "PROTOS;IMPORT_DIRS;DEPS" ${ARGN})
  list(GET ARG_IMPORT_DIRS 0 root)
  set(out_dir "${CMAKE_BINARY_DIR}/gen")
  set(import_flags "")
  foreach(dir ${ARG_IMPORT_DIRS})
    list(APPEND import_flags "-I${dir}")
  endforeach()
  set(sources "")
  foreach(proto ${ARG_PROTOS})
    string(REGEX REPLACE "\\.proto$" "" stem "${proto}")
    set(outputs "${out_dir}/${stem}.pb.cc" "${out_dir}/${stem}.pb.h")
    set(plugin_args "")
    if(ARG_GRPC)
      list(APPEND outputs "${out_dir}/${stem}.grpc.pb.cc" "${out_dir}/${stem}.grpc.pb.h")
      set(plugin_args "--grpc_out=${out_dir}" "--plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>")
    endif()
    add_custom_command(
      OUTPUT ${outputs}
      COMMAND ${CMAKE_COMMAND} -E make_directory "${out_dir}"
      COMMAND protobuf::protoc "--cpp_out=${out_dir}" ${plugin_args} ${import_flags} "${root}/${proto}"
      DEPENDS "${root}/${proto}" protobuf::protoc
      COMMENT "protoc ${proto}"
      VERBATIM)
    list(APPEND sources ${outputs})
  endforeach()
  add_library(${ARG_NAME} STATIC ${sources})
  target_include_directories(${ARG_NAME} SYSTEM PUBLIC "${out_dir}")
  target_link_libraries(${ARG_NAME} PUBLIC protobuf::libprotobuf ${ARG_DEPS})
  if(ARG_GRPC)
    target_link_libraries(${ARG_NAME} PUBLIC gRPC::grpc++)
  endif()
endfunction()

# steward_test(NAME name SOURCES ... DEPS ... [LABELS ...])
function(steward_test)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SOURCES})
  target_compile_options(${ARG_NAME} PRIVATE ${STEWARD_WARNINGS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_include_directories(${ARG_NAME} PRIVATE "${CMAKE_SOURCE_DIR}")
  add_test(NAME ${ARG_NAME} COMMAND ${ARG_NAME})
  set_tests_properties(${ARG_NAME} PROPERTIES
    ENVIRONMENT "STEWARD_SOURCE_DIR=${CMAKE_SOURCE_DIR};STEWARD_BINARY_DIR=${CMAKE_BINARY_DIR}"
    TIMEOUT 300)
  if(ARG_LABELS)
    set_tests_properties(${ARG_NAME} PROPERTIES LABELS "${ARG_LABELS}")
  endif()
endfunction()

# steward_library(NAME name SOURCES ... DEPS ...): one of our own libraries, warnings on.
function(steward_library)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;DEPS" ${ARGN})
  add_library(${ARG_NAME} STATIC ${ARG_SOURCES})
  target_compile_options(${ARG_NAME} PRIVATE ${STEWARD_WARNINGS})
  target_include_directories(${ARG_NAME} PUBLIC "${CMAKE_SOURCE_DIR}")
  target_link_libraries(${ARG_NAME} PUBLIC ${ARG_DEPS})
endfunction()
